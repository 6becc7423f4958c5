"""The SMTP server down, then back: email replies wait in the outbox and go out once it returns.

A real ``switchboard worker`` dispatches. While nothing listens on the mailbox's SMTP port every
attempt fails with a connection error, which the outbox treats as transient (retry with backoff);
once a recording SMTP server (tests/servers/smtp.py) starts on that port, each reply arrives exactly
once under its own Message-ID and every row is marked sent. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from channels.email_smtp import CONVERSATION_HEADER
from gateway.ingest import AGENT_RUN, ingest
from gateway.replies import send_reply
from store import mailboxes
from store.models import AuthorKind, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories as f
from tests.servers.procs import free_port, start, stop, wait_until
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.timeout(90)
REPLIES = 5
DEADLINE_SECONDS = 45


def _outbox(dsn: str) -> list[tuple[str, int, str | None]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT status, attempts, last_error FROM outbox WHERE channel = 'email' ORDER BY id")
        return [(str(r[0]), int(r[1]), r[2]) for r in rows.fetchall()]


async def test_replies_queued_while_smtp_is_down_are_delivered_once_when_it_is_back(
        dsn: str, pool: AsyncConnectionPool, tenant: Tenant, tmp_path: Path) -> None:
    smtp = SmtpServer()  # its port is reserved but nothing listens yet: the server is down
    async with pool.connection() as conn:
        await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=free_port(), imap_security="none",
                               imap_username="nobody", imap_password_env="SB_FAULTS_NO_IMAP",
                               from_address="support@outage.test", from_name="Outage Support",
                               smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none")
    conversations = []
    for k in range(REPLIES):
        result = await ingest(pool, f.email(tenant.id, f"customer{k}@customer.test", f"Question {k}"))
        conversations.append(result)
    async with pool.connection() as conn:  # this test is about dispatch; agent runs would add AI replies
        await conn.execute("UPDATE jobs SET status = 'done', finished_at = now() WHERE kind = %s", (AGENT_RUN,))
    for k, result in enumerate(conversations):
        async with pool.connection() as conn, conn.transaction():
            await send_reply(conn, tenant.id, result.conversation_id, Reply(ReplyKind.ANSWER, f"Answer {k}"),
                             author_kind=AuthorKind.AGENT, answers_message_id=result.message_id,
                             base_url="http://sb.test")

    log = tmp_path / "worker.log"
    worker = start(["worker"], cwd=tmp_path, log=log, DATABASE_URL=dsn, SWITCHBOARD_DATA_DIR=str(tmp_path / "data"))
    try:
        # Every reply tried at least twice against the dead port, and still waiting.
        await asyncio.to_thread(wait_until, lambda: all(a >= 2 for _, a, _ in _outbox(dsn)) or worker.poll() is not None,
                                timeout=DEADLINE_SECONDS, what="delivery attempts against the down SMTP server")
        assert worker.poll() is None, log.read_text()
        rows = _outbox(dsn)
        assert {s for s, _, _ in rows} == {"pending"} and all("SMTP" in (e or "") for _, _, e in rows), rows
        attempts_while_down = sum(a for _, a, _ in rows)

        smtp.start()
        try:
            await asyncio.to_thread(wait_until, lambda: {s for s, _, _ in _outbox(dsn)} == {"sent"},
                                    timeout=DEADLINE_SECONDS, what="the queued replies to go out")
            received = smtp.messages
        finally:
            smtp.stop()
    finally:
        code = stop(worker)
    assert code == 0, log.read_text()
    per_conversation = Counter(int(str(m.message[CONVERSATION_HEADER])) for m in received)
    assert per_conversation == Counter({r.conversation_id: 1 for r in conversations}), per_conversation
    assert len({str(m.message["Message-ID"]) for m in received}) == REPLIES
    assert smtp.handler.attempts == REPLIES  # nothing was sent twice once the server was back
    print("\nsmtp-outage: " + json.dumps({"replies": REPLIES, "attempts_while_down": attempts_while_down}))
