"""Hostile MIME through the whole inbound path: bytes → ``channels.email.inbound_message`` → ``ingest``.

tests/channels/test_email_parse.py proves the parser never raises on random bytes; this goes one step
further, into PostgreSQL: deeply nested multiparts, bad and unknown charsets, broken transfer
encodings, NUL and lone surrogates in headers, megabyte parts. Property: every mail is stored
exactly once under its external id (a second delivery of the same bytes is a duplicate, not a second
row), quickly, and nothing the store cannot hold (NUL, unpaired surrogates) makes it refuse the mail —
which would make the poller skip it, i.e. lose a customer's message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from channels.email import inbound_message
from gateway.ingest import ingest
from store import db, mailboxes, tenants
from store.mailboxes import Mailbox
from tests.hostile.conftest import FUZZ, AsyncRunner
from tests.servers.procs import free_port

pytestmark = pytest.mark.timeout(150)
CHARSETS = ["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "utf-7", "utf-16", "iso-2022-jp", "gb18030",
            "x-klingon-8", "", "utf-8\x00", "../../etc/passwd", "é"]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "gzip", "BASE64 "]
HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["=?utf-8?b?////?=", "=?bogus?q?=ZZ=00?=", "a\x00b", "\ud800", "<a@b> <<c>>", "@", "x" * 5000,
                     "=?utf-8?q?" + "=C3=A9" * 300 + "?=", "\r\n\tfolded", "undisclosed-recipients:;"]),
)


@st.composite
def part(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One MIME entity: a leaf with a random charset and encoding, or a multipart of entities."""
    boundary = f"b{depth}"
    if depth < 40 and draw(st.integers(0, 3)) == 0:
        children = draw(st.lists(part(depth + 1), min_size=0, max_size=1 if depth > 3 else 3))
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "report", "digest"]))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + c + b"\r\n" for c in children)
        closing = draw(st.sampled_from([b"--" + boundary.encode() + b"--\r\n", b"", b"--wrong--\r\n"]))
        return f"Content-Type: multipart/{subtype}; boundary={boundary}\r\n\r\n".encode() + body + closing
    ctype = draw(st.sampled_from(["text/plain", "text/html", "application/pdf", "message/rfc822", "image/png",
                                  "text/plain; format=flowed", "bogus", ""]))
    charset = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(ENCODINGS))
    payload = draw(st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"\x00" * 10, b"====", b"<html><body><p>hi<blockquote>q" * 50, b"\xff\xfe\xfd"]),
        st.sampled_from([1, 2]).map(lambda mb: b"A" * (mb * 1024 * 1024)),  # a big part
    ))
    name = draw(st.one_of(st.none(), st.text(max_size=20), st.just("=?x?q?=FF?=")))
    disposition = "" if name is None else f'Content-Disposition: attachment; filename="{name}"\r\n'
    head = f"Content-Type: {ctype}; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n{disposition}\r\n"
    return head.encode("utf-8", "surrogatepass") + payload


@st.composite
def mail(draw: st.DrawFn) -> bytes:
    headers = {
        "From": draw(st.one_of(st.just("Kim <kim@customer.test>"), HEADER_VALUES)),
        "Subject": draw(HEADER_VALUES),
        "Message-ID": draw(st.one_of(st.uuids().map(lambda u: f"<{u}@customer.test>"), HEADER_VALUES, st.none())),
        "References": draw(st.one_of(st.none(), HEADER_VALUES)),
        "Reply-To": draw(st.one_of(st.none(), HEADER_VALUES)),
        "Date": draw(st.one_of(st.none(), st.sampled_from(["Mon, 32 Foo 99999 99:99:99 +9999", "yesterday"]))),
        "MIME-Version": "1.0",
    }
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if v is not None)
    return head.encode("utf-8", "surrogatepass") + draw(part())


def nested(depth: int) -> bytes:
    raw = b"Content-Type: text/plain\r\n\r\nbottom"
    for d in range(depth):
        raw = (f"Content-Type: multipart/mixed; boundary=n{d}\r\n\r\n--n{d}\r\n".encode() + raw
               + f"\r\n--n{d}--\r\n".encode())
    return b"From: deep@customer.test\r\nMessage-ID: <deep@customer.test>\r\nMIME-Version: 1.0\r\n" + raw


@pytest.fixture
def desk(dsn: str, runner: AsyncRunner) -> Iterator[tuple[AsyncConnectionPool, Mailbox]]:
    async def open_desk() -> tuple[AsyncConnectionPool, Mailbox]:
        pool = await db.open_pool(dsn, max_size=2)
        async with pool.connection() as conn:
            tenant = await tenants.create(conn, "mime-fuzz", "Mime Fuzz")
            mb = await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=free_port(),
                                        imap_security="none", imap_username="nobody", imap_password_env="SB_NONE",
                                        from_address="support@mime.test", from_name="Support",
                                        smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
        return pool, mb

    pool, mb = runner.run(open_desk())
    try:
        yield pool, mb
    finally:
        runner.run(pool.close())


async def _stored(pool: AsyncConnectionPool, tenant_id: int, external_id: str) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, text FROM messages WHERE tenant_id = %s AND channel = 'email'"
                                 " AND external_id = %s", (tenant_id, external_id))
        return list(await cur.fetchall())


def test_hostile_mail_is_stored_exactly_once_and_never_refused(
        desk: tuple[AsyncConnectionPool, Mailbox], runner: AsyncRunner) -> None:
    pool, mb = desk

    @FUZZ
    @given(mail())
    @example(nested(200))
    @example(b"From: a\x00b@customer.test\r\nSubject: \xed\xa0\x80 lone surrogate\r\n\r\nbody \x00 with NUL")
    @example(b"From: kim@customer.test\r\nContent-Type: text/plain; charset=utf-16\r\n\r\n\x00\xd8\x00\xd8")
    def check(raw: bytes) -> None:
        started = time.monotonic()
        msg = inbound_message(raw, mb)
        first = runner.run(ingest(pool, msg))
        again = runner.run(ingest(pool, inbound_message(raw, mb)))  # the poller fetched it twice
        assert again.duplicate and again.message_id == first.message_id
        rows = runner.run(_stored(pool, mb.tenant_id, msg.external_id))
        assert [r["id"] for r in rows] == [first.message_id]
        assert time.monotonic() - started < 10, len(raw)

    check()
