"""Exactly-once with two of everything: two ``switchboard serve`` gateways and two ``switchboard worker``
processes on one PostgreSQL and a private Redis, each named crash point (``store.crash_points``) hit
under traffic, the dead process restarted, and then every promise checked at the receivers.

Traffic: chat visitors on both gateways (python-socketio clients that resend the same ``client_id``
to whichever gateway is alive until acked, as the widget does), Slack DMs (signed events, resent with
the same ``event_id`` until a gateway answers 200, as Slack does) and mail delivered to a real Dovecot
mailbox the workers poll (one poller per mailbox, by lease). Replies are the AI's (a handoff notice
on a tenant without a KB: one per inbound message), dispatched by the workers: chat through Redis to
the gateway holding the socket, Slack to the Web API stand-in, email to an aiosmtpd recorder. The
tenant also has a ``message.created`` webhook subscription; the workers deliver its events to a real
HTTP receiver that dedupes by ``Webhook-Id``, as the README tells receivers to.

Checked afterwards: every inbound message is stored once; every conversation has exactly one reply;
each chat visitor saw that reply's id (pushed live, or through ``resume`` if its socket was down when
it was pushed) and no other; each mail sender got it under one Message-ID; the webhook receiver got a
``message.created`` event for every stored message, inbound and reply, and no message under two event
ids (so dedupe by id gives each message's effect exactly once). A crash after the send and before
"sent" is recorded can only be repaired by sending again: there, and only there, a receiver may get
the same message twice — under the same id (chat message id, Message-ID, Webhook-Id), which it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from psycopg_pool import AsyncConnectionPool

from store import crash_points, mailboxes, slack_workspaces, webhooks
from store.tenants import Tenant
from tests.channels.test_chat import session_token
from tests.servers import dovecot as dovecot_server
from tests.servers.dovecot import Dovecot
from tests.servers.procs import REPO, free_port, http_ok, start, stop
from tests.servers.redis import RedisServer
from tests.servers.slack_api import SlackApiStandIn, running_slack_api, sign
from tests.servers.smtp import SmtpServer
from tests.servers.webhook_receiver import WebhookReceiver, webhook_receiver

pytestmark = [pytest.mark.skipif(not dovecot_server.available(), reason="Debian's dovecot-imapd is not installed"),
              pytest.mark.timeout(420)]
CHATS = 4  # visitors, half on each gateway, one message each
MAILS = 2
SLACKS = 2  # Slack users, one DM each
TEAM = "TONCE1"
SLACK_SECRET = "exactly-once-signing-secret-0123456789"
LEASE_SECONDS = "4"  # outbox, job and IMAP leases: what a dead process held is retried this soon
READY_SECONDS = 120  # four processes importing torch on a shared 2-core machine
SETTLE_SECONDS = 180  # a shared, loaded machine; an idle one settles in a fraction of this
PASSWORD_ENV = "SB_EXACTLY_ONCE_IMAP_PASSWORD"
# Which processes get the crash point: chat ingest runs in `serve`, IMAP ingest in `worker`.
WHERE = {
    crash_points.AFTER_INBOUND_COMMIT: ("serve", "worker"),
    crash_points.AFTER_OUTBOX_COMMIT: ("worker",),
    crash_points.AFTER_SEND: ("worker",),
    crash_points.BETWEEN_CHECKPOINT_AND_REPLY: ("worker",),
}
TEXTS = ("I was charged twice this month and need a refund", "My invoice shows the wrong company address",
         "The export button does nothing when I click it", "How do I add a colleague to my team?")


# --- the crash points themselves -------------------------------------------------------------------

@pytest.mark.parametrize(("setting", "hits", "code"), [
    (None, 3, 0), ("after_send", 3, 0), ("after_send:4", 3, 0),  # unset, another point, not reached yet
    ("after_outbox_commit", 1, crash_points.EXIT_CODE), ("after_outbox_commit:3", 3, crash_points.EXIT_CODE),
])
def test_a_crash_point_exits_only_where_and_when_the_environment_says(setting: str | None, hits: int,
                                                                      code: int) -> None:
    script = ("from store import crash_points as c\n"
              f"for _ in range({hits}): c.reached(c.AFTER_OUTBOX_COMMIT)\n")
    env = {k: v for k, v in os.environ.items() if k != "SWITCHBOARD_CRASH_AT"}
    if setting:
        env["SWITCHBOARD_CRASH_AT"] = setting
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == code, done.stderr


# --- the processes --------------------------------------------------------------------------------

@dataclass
class Proc:
    name: str
    kind: str  # "serve" | "worker"
    env: dict[str, str]
    tmp: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    crashes: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp / f"{self.name}-{self.incarnation}.log"

    def launch(self, crash_at: str | None) -> None:
        self.incarnation += 1
        extra = dict(self.env)
        if crash_at:
            extra["SWITCHBOARD_CRASH_AT"] = crash_at
        args = ["serve", "--port", str(self.port)] if self.kind == "serve" else ["worker"]
        self.proc = start(args, cwd=self.tmp, log=self.log, **extra)

    def ready(self) -> bool:
        if self.kind == "serve":
            return http_ok(f"{self.url}/readyz")
        return b"worker started" in self.log.read_bytes() if self.log.exists() else False

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.tmp.glob(f"{self.name}-*.log")))


class Cluster:
    """Two gateways and two workers; a supervisor restarts (without the crash point) whoever died at it."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs
        self.serves = [p for p in procs if p.kind == "serve"]
        self._task: asyncio.Task[None] | None = None

    async def wait_ready(self, procs: list[Proc] | None = None) -> None:
        deadline = time.monotonic() + READY_SECONDS
        for p in procs or self.procs:
            while not await asyncio.to_thread(p.ready):
                assert p.proc is not None
                if p.proc.poll() is not None and p.proc.returncode != crash_points.EXIT_CODE:
                    pytest.fail(f"{p.name} exited {p.proc.returncode}\n{p.logs()}")
                if p.proc.poll() is not None:
                    break  # died at its crash point already: the supervisor restarts it
                if time.monotonic() > deadline:
                    pytest.fail(f"{p.name} not ready after {READY_SECONDS}s\n{p.logs()}")
                await asyncio.sleep(0.2)

    async def _supervise(self) -> None:
        while True:
            for p in self.procs:
                assert p.proc is not None
                code = p.proc.poll()
                if code == crash_points.EXIT_CODE:
                    p.crashes += 1
                    p.launch(None)  # the restarted process no longer crashes
                elif code is not None:
                    p.failures.append(f"exited {code}")
                    p.launch(None)
            await asyncio.sleep(0.1)

    def supervise(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> list[str]:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        return [f"{p.name}: {f}" for p in self.procs for f in p.failures] + \
            [f"{p.name}: exited {code}" for p in self.procs if p.proc and (code := stop(p.proc)) not in (0, -15)]

    def logs(self) -> str:
        return "\n".join(p.logs() for p in self.procs)


# --- the customers ---------------------------------------------------------------------------------

class ChatCustomer:
    """A visitor whose widget resends the same message to any live gateway until it is acked."""

    def __init__(self, cluster: Cluster, home: int, token: str) -> None:
        self.cluster = cluster
        self.home = home
        self.token = token
        self.sio: socketio.AsyncClient | None = None
        self.pushed: list[dict[str, Any]] = []
        self.conversation_id: int | None = None
        self.message_id: int | None = None

    async def _connect(self, url: str) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("message", self.pushed.append, namespace="/chat")
        try:
            await sio.connect(url, namespaces=["/chat"], auth={"token": self.token}, transports=["websocket"],
                              wait_timeout=5)
        except BaseException:
            await sio.disconnect()  # closes the HTTP session a failed connect leaves open
            raise
        return sio

    async def call(self, event: str, data: dict[str, Any], within: float = SETTLE_SECONDS) -> dict[str, Any]:
        deadline = time.monotonic() + within
        attempt = 0
        while True:
            url = self.cluster.serves[(self.home + attempt) % len(self.cluster.serves)].url
            try:
                if self.sio is None or not self.sio.connected:
                    await self.close()
                    self.sio = await self._connect(url)
                ack: dict[str, Any] = await self.sio.call(event, data, namespace="/chat", timeout=5)
                assert ack.get("ok"), ack
                return ack
            except (socketio.exceptions.SocketIOError, OSError):
                await self.close()
                attempt += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def send(self, text: str) -> None:
        ack = await self.call("message", {"client_id": f"c-{uuid.uuid4().hex}", "text": text})
        self.conversation_id, self.message_id = ack["conversation_id"], ack["message_id"]

    async def close(self) -> None:
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()
            self.sio = None

    def replies_pushed(self) -> Counter[int]:
        return Counter(int(m["id"]) for m in self.pushed
                       if m.get("conversation_id") == self.conversation_id and m.get("author") != "customer")


async def slack_dm(cluster: Cluster, k: int) -> str:
    """Posts one DM event to the gateways, resending it (same event_id) until one answers 200."""
    ts = f"{int(time.time())}.{k:06d}"
    body = {"token": "x", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}", "event_time": int(time.time()),
            "event": {"type": "message", "channel": f"DONCE{k}", "channel_type": "im", "user": f"UONCE{k}",
                      "text": TEXTS[k % len(TEXTS)], "ts": ts, "event_ts": ts}}
    raw = json.dumps(body).encode()
    deadline = time.monotonic() + SETTLE_SECONDS
    for attempt in itertools.count():
        url = cluster.serves[(k + attempt) % len(cluster.serves)].url
        try:
            async with aiohttp.ClientSession() as http, http.post(
                    f"{url}/slack/events", data=raw, timeout=aiohttp.ClientTimeout(total=10),
                    headers={"Content-Type": "application/json", **sign(SLACK_SECRET, raw)}) as resp:
                if resp.status == 200:
                    return f"DONCE{k}"
        except (aiohttp.ClientError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"no gateway took Slack event {k}")
        await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


def mail(k: int) -> tuple[bytes, str]:
    sender = f"customer{k}@mail.test"
    lines = [f"From: Customer {k} <{sender}>", "To: support@once.test", f"Subject: Question {k}",
             f"Message-ID: <{uuid.uuid4().hex}@mail.test>", "Date: Mon, 23 Nov 2026 10:00:00 +0000",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    return ("\r\n".join(lines) + "\r\n\r\n" + TEXTS[k % len(TEXTS)] + "\r\n").encode(), sender


# --- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackApiStandIn]:
    async with running_slack_api() as api:
        for k in range(SLACKS):
            api.add_user(f"UONCE{k}", TEAM, f"slack{k}@mail.test", f"Slack {k}")
        yield api


@pytest.fixture
async def hooks() -> AsyncIterator[WebhookReceiver]:
    async with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
async def desk(pool: AsyncConnectionPool, tenant: Tenant, imap: Dovecot, smtp: SmtpServer,
               slack_api: SlackApiStandIn, hooks: WebhookReceiver) -> Tenant:
    async with pool.connection() as conn:
        # Before the workers start: the mail already waiting in the mailbox is an event too.
        await webhooks.create(conn, tenant.id, url=hooks.url, events=["message.created"], created_by="test")
        await slack_workspaces.register(conn, tenant.id, TEAM, bot_token_env=f"SLACK_{TEAM}_BOT_TOKEN",
                                        signing_secret_env=f"SLACK_{TEAM}_SIGNING_SECRET", bot_user_id="UBOTONCE",
                                        api_base_url=slack_api.base_url)
        await mailboxes.create(
            conn, tenant.id, imap_host="127.0.0.1", imap_port=imap.port, imap_security="none",
            imap_username=imap.user, imap_password_env=PASSWORD_ENV, from_address="support@once.test",
            from_name="Once Support", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
        )
    return tenant


@contextlib.asynccontextmanager
async def cluster_with(crash_at: str, dsn: str, redis: RedisServer, imap: Dovecot, tmp: Path
                       ) -> AsyncIterator[Cluster]:
    common = {"DATABASE_URL": dsn, "REDIS_URL": redis.url, "SWITCHBOARD_SECRET_KEY": secrets.token_urlsafe(48),
              "SWITCHBOARD_OUTBOX_LEASE_SECONDS": LEASE_SECONDS, "SWITCHBOARD_JOB_LEASE_SECONDS": LEASE_SECONDS,
              "SWITCHBOARD_IMAP_LEASE_SECONDS": LEASE_SECONDS, "SWITCHBOARD_METRICS_STORE_KPIS": "false",
              PASSWORD_ENV: imap.password, f"SLACK_{TEAM}_BOT_TOKEN": "xoxb-once-test",
              f"SLACK_{TEAM}_SIGNING_SECRET": SLACK_SECRET}
    procs = []
    for name, kind in (("serve-a", "serve"), ("serve-b", "serve"), ("worker-1", "worker"), ("worker-2", "worker")):
        env = {**common, "SWITCHBOARD_DATA_DIR": str(tmp / f"data-{name}")}
        if kind == "serve":
            env["SWITCHBOARD_RUN_WORKERS"] = "false"
        procs.append(Proc(name, kind, env, tmp, port=free_port() if kind == "serve" else 0))
    cluster = Cluster(procs)
    for p in procs:
        p.launch(f"{crash_at}:2" if p.kind in WHERE[crash_at] else None)  # the 2nd time: mid-traffic
    problems: list[str] = []
    try:
        cluster.supervise()
        await cluster.wait_ready()
        yield cluster
    finally:
        problems = await cluster.stop()
    assert problems == [], cluster.logs()


# --- looking at the store ---------------------------------------------------------------------------

async def rows(pool: AsyncConnectionPool, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def replies_by_conversation(pool: AsyncConnectionPool, tenant_id: int) -> dict[int, list[int]]:
    """Customer-visible replies (outbound, not drafts) per conversation."""
    out: dict[int, list[int]] = {}
    for r in await rows(pool, "SELECT conversation_id, id FROM messages WHERE tenant_id = %s AND direction = 'out'"
                              " ORDER BY id", tenant_id):
        out.setdefault(int(r["conversation_id"]), []).append(int(r["id"]))
    return out


async def settled(pool: AsyncConnectionPool, tenant_id: int, conversations: int) -> bool:
    replies = await replies_by_conversation(pool, tenant_id)
    busy = await rows(pool, "SELECT 1 FROM jobs WHERE kind = 'agent_run' AND status <> 'done'")
    pending = await rows(pool, "SELECT 1 FROM outbox WHERE status = 'pending'")
    return len(replies) >= conversations and not busy and not pending


async def progress(pool: AsyncConnectionPool, tenant_id: int) -> dict[str, Any]:
    """Where things stand, for a failure message."""
    return {
        "replies": await replies_by_conversation(pool, tenant_id),
        "jobs": await rows(pool, "SELECT kind, status, attempts, last_error FROM jobs WHERE kind = 'agent_run'"
                                 " AND status <> 'done'"),
        "outbox": await rows(pool, "SELECT channel, status, attempts, last_error FROM outbox WHERE status <> 'sent'"),
        "inbound": await rows(pool, "SELECT channel, conversation_id FROM messages WHERE direction = 'in'"),
    }


# --- the test -------------------------------------------------------------------------------------

@pytest.mark.parametrize("crash_at", sorted(WHERE))
async def test_each_crash_point_under_traffic_stores_once_and_delivers_once(
    crash_at: str, pool: AsyncConnectionPool, dsn: str, desk: Tenant, redis: RedisServer, imap: Dovecot,
    smtp: SmtpServer, slack_api: SlackApiStandIn, hooks: WebhookReceiver, tmp_path: Path,
) -> None:
    t = desk
    senders = []
    for k in range(MAILS):  # waiting in the mailbox when the workers start: their first work
        raw, sender = mail(k)
        await asyncio.to_thread(imap.append, raw)
        senders.append(sender)
    began = time.monotonic()
    async with cluster_with(crash_at, dsn, redis, imap, tmp_path) as cluster:
        customers = []
        for k in range(CHATS):
            home = k % 2
            tok = await session_token(cluster.serves[home].url, t.slug)
            customers.append(ChatCustomer(cluster, home, tok["token"]))
        try:
            dms = await asyncio.gather(*(slack_dm(cluster, k) for k in range(SLACKS)),
                                       *(c.send(TEXTS[k % len(TEXTS)]) for k, c in enumerate(customers)))
            dm_channels = set(dms[:SLACKS])

            deadline = time.monotonic() + SETTLE_SECONDS
            while not await settled(pool, t.id, CHATS + MAILS + SLACKS) or len({m.rcpt_tos for m in smtp.messages}) < MAILS \
                    or len(hooks.processed) < 2 * (CHATS + MAILS + SLACKS):
                if time.monotonic() > deadline:
                    pytest.fail(f"not settled after {SETTLE_SECONDS}s: {await progress(pool, t.id)} "
                                f"smtp={[m.rcpt_tos for m in smtp.messages]} webhooks={len(hooks.processed)}"
                                f"\n{cluster.logs()}")
                await asyncio.sleep(0.3)
            crashed = {p.name: p.crashes for p in cluster.procs if p.crashes}
            assert crashed, f"nothing died at {crash_at}: the crash point was never reached\n{cluster.logs()}"

            # What each visitor has: live pushes plus whatever it missed while its socket was down.
            resumed: dict[int, set[int]] = {}
            for c in customers:
                ack = await c.call("resume", {"conversation_id": c.conversation_id, "last_seq": 0})
                resumed[id(c)] = {int(m["id"]) for m in ack["messages"] if m.get("author") != "customer"}
        finally:
            for c in customers:
                await c.close()

    # Every inbound message stored once, nothing twice.
    inbound = await rows(pool, "SELECT channel, external_id FROM messages WHERE tenant_id = %s AND direction = 'in'",
                         t.id)
    assert Counter(r["channel"] for r in inbound) == {"chat": CHATS, "email": MAILS, "slack": SLACKS}, inbound
    assert len({(r["channel"], r["external_id"]) for r in inbound}) == len(inbound)
    # One reply per conversation, written once.
    replies = await replies_by_conversation(pool, t.id)
    assert len(replies) == CHATS + MAILS + SLACKS and all(len(ids) == 1 for ids in replies.values()), replies
    duplicate_ok = crash_at == crash_points.AFTER_SEND
    # A process that dies after a send, before marking it sent, makes that one row go out once more;
    # two processes can die on the same row (the second took it over from the first), so the bound is
    # one delivery plus one per crash at this point.
    most = 1 + (sum(crashed.values()) if duplicate_ok else 0)

    # Chat: each visitor has exactly its reply's id; pushed at most once (more only after_send, same id).
    for c in customers:
        assert c.conversation_id is not None
        expected = replies[c.conversation_id][0]
        pushed = c.replies_pushed()
        assert set(pushed) <= {expected} and resumed[id(c)] == {expected}, (pushed, resumed[id(c)], expected)
        assert max(pushed.values(), default=0) <= most, pushed

    # Email: each sender got its reply under one Message-ID (more only after_send, same Message-ID).
    by_sender: dict[str, Counter[str]] = {}
    for m in smtp.messages:
        for rcpt in m.rcpt_tos:
            by_sender.setdefault(rcpt, Counter())[str(m.message["Message-ID"])] += 1
    assert set(by_sender) == set(senders), by_sender
    for sender, ids in by_sender.items():
        assert len(ids) == 1, (sender, ids)
        assert max(ids.values()) <= most, (sender, ids)
    # Slack: one post per DM (more only after_send: Slack has no idempotency key to drop it by).
    posts = Counter(str(c.args.get("channel")) for c in slack_api.calls_to("chat.postMessage"))
    assert set(posts) == dm_channels, posts
    assert max(posts.values()) <= most, posts
    # Webhook: every stored message (inbound and reply) arrived as a message.created event, each under one
    # event id, so the receiver's dedupe by Webhook-Id applies each message's effect exactly once; an id is
    # delivered more than once only after_send, and then with the same body.
    # Events are delivered after their message commits (and a notice may still be in flight when the
    # replies have settled): poll with a deadline until the receiver has caught up with the store.
    deadline = time.monotonic() + 30
    while True:
        events = [e for e in hooks.events.values() if e["type"] == "message.created"]
        per_message = Counter(int(e["data"]["message_id"]) for e in events)
        stored = {int(r["id"]) for r in await rows(pool, "SELECT id FROM messages WHERE tenant_id = %s"
                                                         " AND direction <> 'internal' AND (reply_kind IS NULL"
                                                         " OR reply_kind <> 'suggestion')", t.id)}
        if set(per_message) == stored or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert set(per_message) == stored, (sorted(per_message), sorted(stored))
    assert max(per_message.values()) == 1, f"one message under several event ids: {per_message}"
    # Raw attempts: a process killed at any crash point may be mid-send of some webhook row (dispatch runs
    # concurrently with ingest and agent runs in a worker), and that row goes out again under the same
    # Webhook-Id; the receiver's dedupe by id (checked above and below) keeps the effect exactly once.
    attempts = Counter(q.headers["Webhook-Id"] for q in hooks.requests if q.status == 200)
    assert max(attempts.values()) <= 1 + sum(crashed.values()), attempts
    bodies: dict[str, set[bytes]] = {}
    for q in hooks.requests:
        bodies.setdefault(q.headers["Webhook-Id"], set()).add(q.body)
    assert all(len(b) == 1 for b in bodies.values()), "a resent event changed its body"
    print(f"\n{crash_at}: crashed={crashed} seconds={time.monotonic() - began:.1f} "
          f"smtp={len(smtp.messages)} pushes={sum(sum(c.replies_pushed().values()) for c in customers)} "
          f"webhooks={len(hooks.requests)}")
