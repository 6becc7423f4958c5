"""The email channel against real servers on loopback: a private Dovecot (IMAP) and aiosmtpd (SMTP)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from channels.email import ImapPollers, MailboxPoller
from channels.email_smtp import EmailSender
from gateway.app import services
from gateway.dispatcher import Dispatcher
from gateway.ingest import ingest
from gateway.replies import send_reply
from store import conversations, mailboxes, outbox, tenants
from store.mailboxes import Mailbox
from store.models import (
    AuthorKind,
    Channel,
    ConversationStatus,
    InboundMessage,
    IngestResult,
    Reply,
    ReplyKind,
)
from store.tenants import Tenant
from tests import factories as f
from tests.channels.test_chat import Visitor, session_token
from tests.servers import dovecot as dovecot_server
from tests.servers.dovecot import Dovecot
from tests.servers.gateway import running_gateway
from tests.servers.smtp import Received, SmtpServer

pytestmark = pytest.mark.skipif(not dovecot_server.available(), reason="Debian's dovecot-imapd is not installed")
PASSWORD_ENV = "SB_TEST_IMAP_PASSWORD"
CUSTOMER = "alice@customer.test"


# --- servers and the mailbox ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def imap(dovecot: Dovecot) -> Dovecot:
    """A mailbox of its own on the shared server (starting Dovecot per test costs seconds)."""
    return dovecot.with_new_user()


@pytest.fixture
async def mailbox(pool: AsyncConnectionPool, tenant: Tenant, imap: Dovecot, smtp: SmtpServer,
                  monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    monkeypatch.setenv(PASSWORD_ENV, imap.password)  # secrets come from the environment, never the store
    async with pool.connection() as conn:
        return await mailboxes.create(
            conn, tenant.id, imap_host="127.0.0.1", imap_port=imap.port, imap_security="none",
            imap_username=imap.user, imap_password_env=PASSWORD_ENV, from_address="support@acme.test",
            from_name="Acme Support", reply_to="help@acme.test", smtp_host="127.0.0.1", smtp_port=smtp.port,
            smtp_security="none",
        )


class Recorder:
    """The Ingest port, recording results (the real pipeline underneath)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self.results: list[IngestResult] = []

    async def __call__(self, msg: InboundMessage) -> IngestResult:
        result = await ingest(self.pool, msg)
        self.results.append(result)
        return result


@asynccontextmanager
async def polling(pool: AsyncConnectionPool, mailbox: Mailbox, **options: Any) -> AsyncIterator[MailboxPoller]:
    options = {"lease_seconds": 3.0, "idle_seconds": 1.0, "max_backoff": 1.0, **options}
    poller = MailboxPoller(pool, mailbox, Recorder(pool), **options)
    task = asyncio.create_task(poller.run())
    try:
        yield poller
    finally:
        task.cancel()
        try:
            async with asyncio.timeout(15):
                await task
        except asyncio.CancelledError:
            pass


async def until(check: Callable[[], Awaitable[bool] | bool], within: float = 45, what: str = "condition") -> None:
    """Polls with a deadline; never a bare sleep as synchronization."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


async def settled(poller: MailboxPoller) -> None:
    """Waits until everything fetched so far is committed and marked processed."""
    await until(lambda: poller.stored == poller.fetched, what="the poller to commit what it fetched")


async def deliver(imap: Dovecot, raw: bytes) -> None:
    await asyncio.to_thread(imap.append, raw)


def mail(text: str = "My invoice is wrong.", *, sender: str = CUSTOMER, subject: str = "Invoice question",
         message_id: str | None = None, headers: dict[str, str] | None = None) -> tuple[bytes, str]:
    mid = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    lines = [f"From: Alice <{sender}>", "To: support@acme.test", f"Subject: {subject}", f"Message-ID: {mid}",
             "Date: Mon, 23 Nov 2026 10:00:00 +0000", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n" + text + "\r\n").encode(), mid


async def rows(pool: AsyncConnectionPool, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def inbound(pool: AsyncConnectionPool, tenant_id: int) -> list[dict[str, Any]]:
    return await rows(pool, "SELECT * FROM messages WHERE tenant_id = %s AND direction = 'in' ORDER BY id", tenant_id)


async def count_inbound(pool: AsyncConnectionPool, tenant_id: int) -> int:
    return len(await inbound(pool, tenant_id))


async def dispatch_until(pool: AsyncConnectionPool, done: Callable[[], bool], within: float = 20) -> None:
    d = Dispatcher(pool, {Channel.EMAIL: EmailSender(pool)})

    async def step() -> bool:
        await d.run_once()
        return done()

    await until(step, within, "the dispatcher")


async def reply(pool: AsyncConnectionPool, tenant_id: int, result: IngestResult, text: str,
                author: AuthorKind = AuthorKind.AGENT) -> int:
    async with pool.connection() as conn, conn.transaction():
        msg = await send_reply(conn, tenant_id, result.conversation_id, Reply(ReplyKind.ANSWER, text),
                               author_kind=author, answers_message_id=result.message_id, base_url="http://sb.test")
    return msg.id


# --- cases ----------------------------------------------------------------------------------------

async def test_new_mail_becomes_a_conversation_and_the_reply_threads_both_ways(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot, smtp: SmtpServer
) -> None:
    raw, first_id = mail()
    async with polling(pool, mailbox) as poller:
        await deliver(imap, raw)
        await until(lambda: len(poller.ingest.results) == 1, what="the first mail")  # type: ignore[attr-defined]
        first = poller.ingest.results[0]  # type: ignore[attr-defined]
        assert first.created_conversation
        stored = (await inbound(pool, tenant.id))[0]
        assert stored["text"] == "My invoice is wrong." and stored["external_id"] == first_id
        assert stored["created_at"].isoformat().startswith("2026-11-23T10:00:00")  # from the Date header
        await until(lambda: "\\Seen" in imap.flags().get(1, ""), what="\\Seen after commit")

        await reply(pool, tenant.id, first, "We fixed the invoice.", author=AuthorKind.AI)
        await dispatch_until(pool, lambda: len(smtp.messages) == 1)
        sent = smtp.messages[0].message
        assert smtp.messages[0].rcpt_tos == (CUSTOMER,)
        assert sent["In-Reply-To"] == first_id and first_id in sent["References"]
        assert f"[#{first.conversation_id}]" in sent["Subject"] and sent["Subject"].startswith("Re: Invoice question")
        assert sent["X-Switchboard-Conversation"] == str(first.conversation_id)
        assert sent["Auto-Submitted"] == "auto-replied"  # AI replies: the other side's autoresponder stays quiet
        assert "Acme Support" in sent["From"] and "support@acme.test" in sent["From"]
        assert sent["Reply-To"] == "help@acme.test"
        assert sent.get_body(("html",)) is not None and "We fixed the invoice." in smtp.messages[0].text()
        our_id = sent["Message-ID"]

        # The customer answers our message, without the tag, after the conversation was resolved and the
        # reopen window is zero: only our Message-ID (a stored thread key) can put it back in place.
        async with pool.connection() as conn:
            await tenants.update_settings(conn, tenant.id, {"reopen_window_hours": 0})
            await conversations.transition(conn, tenant.id, first.conversation_id, ConversationStatus.RESOLVED,
                                           actor="test")
        answer, _ = mail("Thanks, that works.", subject="Re: Invoice question",
                         headers={"In-Reply-To": our_id, "References": f"{first_id} {our_id}"})
        await deliver(imap, answer)
        await until(lambda: len(poller.ingest.results) == 2, what="the customer's answer")  # type: ignore[attr-defined]
        second = poller.ingest.results[1]  # type: ignore[attr-defined]
        assert second.conversation_id == first.conversation_id and not second.created_conversation

        # An agent's second reply threads under the customer's latest mail and is not marked automatic.
        await reply(pool, tenant.id, second, "Glad to help.")
        await dispatch_until(pool, lambda: len(smtp.messages) == 2)
        again = smtp.messages[1].message
        assert again["In-Reply-To"] != first_id and again["Auto-Submitted"] is None
        assert our_id in again["References"] and first_id in again["References"]


async def test_a_tag_in_the_subject_threads_only_its_own_sender(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    async with polling(pool, mailbox) as poller:
        raw, _ = mail()
        await deliver(imap, raw)
        await until(lambda: len(poller.ingest.results) == 1, what="first mail")  # type: ignore[attr-defined]
        conv = poller.ingest.results[0].conversation_id  # type: ignore[attr-defined]
        same, _ = mail("More details", subject=f"Re: Invoice question [#{conv}]")
        other, _ = mail("Me too!", sender="mallory@elsewhere.test", subject=f"Re: Invoice question [#{conv}]")
        await deliver(imap, same)
        await deliver(imap, other)
        await until(lambda: len(poller.ingest.results) == 3, what="both tagged mails")  # type: ignore[attr-defined]
        results = poller.ingest.results  # type: ignore[attr-defined]
        assert results[1].conversation_id == conv
        assert results[2].conversation_id != conv  # a shared subject never threads two people together


async def test_a_restart_reingests_nothing_and_the_same_message_id_twice_is_one_message(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    raw, _ = mail()
    async with polling(pool, mailbox) as first:
        await deliver(imap, raw)
        await deliver(imap, raw)  # the same Message-ID delivered twice (a resend, a second copy)
        await until(lambda: first.fetched == 2, what="both copies fetched")
        await settled(first)
    assert await count_inbound(pool, tenant.id) == 1
    async with pool.connection() as conn:
        assert (await mailboxes.state(conn, tenant.id, mailbox.id)).last_uid == 2
    assert set(imap.flags()) == {1, 2} and all("\\Seen" in v for v in imap.flags().values())

    async with polling(pool, mailbox) as second:  # a new process: only what is new is fetched
        await until(lambda: second.passes >= 2, what="the restarted poller's passes")
        assert second.fetched == 0
        newer, _ = mail("One more thing")
        await deliver(imap, newer)
        await until(lambda: second.fetched == 1, what="the new mail")
        await settled(second)
    assert await count_inbound(pool, tenant.id) == 2


async def test_an_out_of_office_reply_is_stored_flagged_and_starts_no_agent_run(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    raw, _ = mail("I am away until Monday.", subject="Out of office: Re: your request",
                  headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"})
    async with polling(pool, mailbox) as poller:
        await deliver(imap, raw)
        await until(lambda: len(poller.ingest.results) == 1, what="the auto-reply")  # type: ignore[attr-defined]
    stored = (await inbound(pool, tenant.id))[0]
    assert "auto_reply" in stored["flags"]
    assert await rows(pool, "SELECT * FROM jobs WHERE tenant_id = %s", tenant.id) == []


def _maildir_new(imap: Dovecot) -> Path:
    return imap.root / "mail" / imap.user / "Maildir" / "new"


async def test_huge_garbled_and_unknown_charset_mail_do_not_stop_the_poller(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    attachment = base64.encodebytes(os.urandom(30 * 1024 * 1024 // 4 * 3)).replace(b"\n", b"\r\n")
    huge = (b"From: Alice <alice@customer.test>\r\nSubject: scans\r\nMessage-ID: <huge@customer.test>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
            b"Content-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\nContent-Type: application/pdf\r\n"
            b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=scan.pdf\r\n\r\n"
            + attachment + b"\r\n--XX--\r\n")
    assert len(huge) > 30 * 1024 * 1024
    garbled = b"\xff\xfe\x00From \x00garbage\r\n\x80\x81: \xc3(\r\nSubject: =?bogus?Q?=ZZ?=\r\n\r\n\x00\xff\xfe body"
    klingon, _ = mail("Qapla'", headers={"X-Ignored": "1"})
    klingon = klingon.replace(b"charset=utf-8", b"charset=x-klingon-8") + b"caf\xe9 \xff\r\n"
    normal, normal_id = mail("A normal question after all that.")
    async with polling(pool, mailbox) as poller:
        for raw in (huge, garbled, klingon, normal):
            await deliver(imap, raw)
        await until(lambda: poller.fetched == 4, within=60, what="all four mails")
        await settled(poller)
    stored = await inbound(pool, tenant.id)
    assert len(stored) == 4
    by_id = {m["external_id"]: m for m in stored}
    assert "oversized" in by_id["<huge@customer.test>"]["flags"]
    assert by_id[normal_id]["text"] == "A normal question after all that." and by_id[normal_id]["flags"] == []
    assert any("Qapla'" in m["text"] for m in stored)
    assert sum(1 for m in stored if "malformed" in m["flags"] or m["external_id"].endswith("switchboard.invalid>")) >= 1
    async with pool.connection() as conn:
        assert (await mailboxes.state(conn, tenant.id, mailbox.id)).last_uid == 4


async def test_dovecot_restarted_mid_idle_recovers_and_picks_up_mail_that_arrived_meanwhile(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    async with polling(pool, mailbox, idle_seconds=30.0, lease_seconds=90.0) as poller:
        raw, _ = mail("before the restart")
        await deliver(imap, raw)
        await until(lambda: poller.fetched == 1, what="the first mail")
        await until(lambda: poller.passes >= 1 and poller.connected.is_set(), what="IDLE")
        await asyncio.to_thread(imap.stop)
        # Delivered while the IMAP server is down, the way a local delivery agent drops mail into the maildir.
        meanwhile, meanwhile_id = mail("arrived while the server was down")
        path = _maildir_new(imap) / f"{int(time.time())}.{uuid.uuid4().hex}.test"
        path.write_bytes(meanwhile)
        os.chown(path, dovecot_server.MAIL_UID, dovecot_server.MAIL_UID)
        await asyncio.to_thread(imap.start)
        await until(lambda: poller.fetched == 2, within=120, what="the mail that arrived meanwhile")
        after, after_id = mail("after the restart, through IDLE")
        await deliver(imap, after)
        await until(lambda: poller.fetched == 3, what="mail after the restart")
        await settled(poller)
    ids = [m["external_id"] for m in await inbound(pool, tenant.id)]
    assert meanwhile_id in ids and after_id in ids and len(ids) == 3


async def test_two_pollers_for_one_mailbox_only_the_lease_holder_fetches(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    async with polling(pool, mailbox, owner="worker-a") as a, polling(pool, mailbox, owner="worker-b") as b:
        await until(lambda: a.connected.is_set() or b.connected.is_set(), what="one poller to connect")
        for i in range(3):
            await deliver(imap, mail(f"question {i}")[0])
        await until(lambda: a.fetched + b.fetched >= 3, what="three mails")
        holder, standby = (a, b) if a.connected.is_set() else (b, a)
        await settled(holder)
        assert holder.fetched == 3 and standby.fetched == 0 and not standby.connected.is_set()
        async with pool.connection() as conn:
            assert (await mailboxes.state(conn, tenant.id, mailbox.id)).lease_owner == holder.owner
    assert await count_inbound(pool, tenant.id) == 3


async def test_the_standby_poller_takes_over_when_the_holder_stops(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    async with contextlib.AsyncExitStack() as holder_running:
        a = await holder_running.enter_async_context(polling(pool, mailbox, owner="worker-a"))
        await until(a.connected.is_set, what="the first poller to connect")
        async with polling(pool, mailbox, owner="worker-b") as b:
            await until(lambda: a.passes >= 3, what="a few lease renewals")
            assert not b.connected.is_set()
            await holder_running.aclose()  # a stops and releases its lease
            await until(b.connected.is_set, what="the standby to take over")
            await deliver(imap, mail("after the handover")[0])
            await until(lambda: b.fetched == 1, what="the standby's fetch")
            await settled(b)
    assert a.fetched == 0 and await count_inbound(pool, tenant.id) == 1


async def test_a_uidvalidity_change_resyncs_without_duplicates(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    async with polling(pool, mailbox) as first:
        await deliver(imap, mail()[0])
        await until(lambda: first.fetched == 1, what="the first mail")
        await settled(first)
    async with pool.connection() as conn:  # as if the folder had been recreated on the server
        await conn.execute("UPDATE email_mailbox_state SET uidvalidity = 1 WHERE tenant_id = %s", (tenant.id,))
    async with polling(pool, mailbox) as second:
        await until(lambda: second.fetched == 1, what="the resync to fetch everything again")
        await settled(second)
    assert await count_inbound(pool, tenant.id) == 1


async def test_the_poller_manager_follows_the_mailboxes_in_the_store(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, imap: Dovecot
) -> None:
    recorder = Recorder(pool)
    manager = ImapPollers(pool, recorder, reload_seconds=3600, lease_seconds=3.0, idle_seconds=1.0)
    async with manager.running():
        await until(lambda: mailbox.id in manager.pollers, what="a poller for the mailbox")
        await deliver(imap, mail()[0])
        await until(lambda: len(recorder.results) == 1, what="the mail through the managed poller")
        async with pool.connection() as conn:
            await conn.execute("UPDATE email_mailboxes SET enabled = false WHERE tenant_id = %s", (tenant.id,))
        await manager.reload()
        assert manager.pollers == {}
    async with pool.connection() as conn:
        assert (await mailboxes.state(conn, tenant.id, mailbox.id)).lease_owner is None  # released on stop


async def test_smtp_4xx_is_retried_with_the_same_message_id_and_delivered_once(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, smtp: SmtpServer
) -> None:
    result = await ingest(pool, f.email(tenant.id, CUSTOMER, "hi"))
    await reply(pool, tenant.id, result, "Here you go.")
    smtp.refuse(451)
    d = Dispatcher(pool, {Channel.EMAIL: EmailSender(pool)})
    assert await d.run_once() == 1
    async with pool.connection() as conn:
        row = (await outbox.for_conversation(conn, tenant.id, result.conversation_id))[0]
    assert row["status"] == "pending" and "451" in row["last_error"]
    await dispatch_until(pool, lambda: len(smtp.messages) == 1)
    assert smtp.attempts == 2 and len(smtp.messages) == 1
    assert smtp.refused[0].message["Message-ID"] == smtp.messages[0].message["Message-ID"]
    assert smtp.refused[0].message["Date"] == smtp.messages[0].message["Date"]
    async with pool.connection() as conn:
        assert (await outbox.for_conversation(conn, tenant.id, result.conversation_id))[0]["status"] == "sent"


async def test_smtp_5xx_marks_the_delivery_failed_for_agents_to_see(
    pool: AsyncConnectionPool, tenant: Tenant, mailbox: Mailbox, smtp: SmtpServer
) -> None:
    result = await ingest(pool, f.email(tenant.id, CUSTOMER, "hi"))
    await reply(pool, tenant.id, result, "Here you go.")
    smtp.refuse(550)
    assert await Dispatcher(pool, {Channel.EMAIL: EmailSender(pool)}).run_once() == 1
    async with pool.connection() as conn:
        row = (await outbox.for_conversation(conn, tenant.id, result.conversation_id))[0]
    assert row["status"] == "failed" and "550" in row["last_error"]
    assert smtp.messages == []


async def test_the_verification_link_merges_the_chat_visitor_with_the_email_customer(
    pool: AsyncConnectionPool, dsn: str, tenant: Tenant, mailbox: Mailbox, smtp: SmtpServer, tmp_path: Path
) -> None:
    earlier = await ingest(pool, f.email(tenant.id, CUSTOMER, "My order #1 never arrived"))
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as gw:
        tok = await session_token(gw.url, tenant.slug)
        v = Visitor()
        await v.connect(gw.url, tok["token"])
        try:
            assert (await v.call("message", {"client_id": "1", "text": "hello from chat"}))["ok"]
            before = await v.call("history", {})
            assert earlier.conversation_id not in [c["id"] for c in before["conversations"]]
            ack = await v.call("email", {"email": CUSTOMER})
            assert ack == {"ok": True, "verification_sent": True}

            d = Dispatcher(pool, services(gw.app)["senders"])
            await until(lambda: _step_until(d, smtp, 1), what="the verification mail")
            sent: Received = smtp.messages[0]
            assert sent.rcpt_tos == (CUSTOMER,) and sent.message["Auto-Submitted"] == "auto-generated"
            match = re.search(r"http://\S+/verify-email/\S+", sent.text())
            assert match is not None
            link = match.group(0)
            assert link.startswith(gw.url)
            async with aiohttp.ClientSession() as http:
                async with http.get(link) as resp:  # opening the link (or a mail scanner doing so) merges nothing
                    assert resp.status == 200 and "<form" in await resp.text()
                assert earlier.conversation_id not in [c["id"] for c in (await v.call("history", {}))["conversations"]]
                async with http.post(link) as resp:
                    assert resp.status == 200 and "confirmed" in await resp.text()
                async with http.post(link) as resp:
                    assert resp.status == 410  # one time only
            after = await v.call("history", {})
            convs = {c["id"]: c for c in after["conversations"]}
            assert earlier.conversation_id in convs
            assert convs[earlier.conversation_id]["messages"][0]["text"] == "My order #1 never arrived"
        finally:
            await v.sio.disconnect()


async def _step_until(d: Dispatcher, smtp: SmtpServer, n: int) -> bool:
    await d.run_once()
    return len(smtp.messages) >= n
