"""An email with attachments through the real IMAP poller (private Dovecot) into the attachments table."""

from __future__ import annotations

import pytest
from psycopg_pool import AsyncConnectionPool

from store import attachments
from store.mailboxes import Mailbox
from store.tenants import Tenant
from tests.channels.test_attachments import HTML, mail_with_parts, png_bytes
from tests.channels.test_email_channel import (  # noqa: F401  (fixtures)
    deliver,
    dovecot,
    imap,
    mailbox,
    polling,
    until,
)
from tests.servers import dovecot as dovecot_server
from tests.servers.dovecot import Dovecot

pytestmark = pytest.mark.skipif(not dovecot_server.available(), reason="Debian's dovecot-imapd is not installed")


async def test_polled_mail_keeps_its_files(pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox,  # noqa: F811
                                           imap: Dovecot) -> None:  # noqa: F811
    raw = mail_with_parts(("screen.png", "image/png", png_bytes()), ("invoice.png", "image/png", HTML))
    async with polling(pool, mailbox) as poller:
        await deliver(imap, raw)
        await until(lambda: len(poller.ingest.results) == 1, what="the mail")  # type: ignore[attr-defined]
    result = poller.ingest.results[0]  # type: ignore[attr-defined]
    async with pool.connection() as conn:
        stored = await attachments.for_message(conn, tenant.id, result.message_id)
    assert [(a.filename, a.sniffed_type, a.declared_type, data) for a, data in stored] == [
        ("screen.png", "image/png", "image/png", png_bytes()),
        ("invoice.png", "text/html", "image/png", HTML),  # the declared type is kept, never trusted
    ]
