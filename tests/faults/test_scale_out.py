"""Scale-out with real processes: two ``switchboard serve`` gateways share PostgreSQL and one Redis.

Gateway A holds the customer's chat socket and runs no workers; gateway B holds the agent's console
(HTTP session and ``/copilot`` socket) and runs the workers, so every reply B's dispatcher sends to
the visitor crosses Redis (python-socketio's ``AsyncRedisManager``) to reach A. The ``conversation``
events agents see are relayed per process from PostgreSQL ``LISTEN``, so a message taken in on A must
show up on B's socket without Redis being involved at all.

Redis is a private ``redis-server`` (tests/servers/redis.py) on a free loopback port; the restart test
SIGKILLs it and starts it again on the same port. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio
from psycopg_pool import AsyncConnectionPool

from store.tenants import Tenant
from tests.channels.test_chat import Visitor, poll_until, session_token
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.procs import free_port, http_ok, start, stop, wait_until
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.timeout(480)
READY_SECONDS = 180  # imports (torch) on a shared, busy 2-core machine
LIVE_SECONDS = 60  # the first agent run on B loads the model; replies must still arrive within this


@dataclass
class Gateway:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Desk:
    a: Gateway
    b: Gateway
    redis: RedisServer
    tenant: Tenant
    agent_email: str
    logs: Callable[[], str] = field(repr=False, default=lambda: "")


def _start_gateway(name: str, tmp: Path, dsn: str, redis_url: str, secret: str, workers: bool) -> Gateway:
    port = free_port()
    log = tmp / f"serve-{name}.log"
    proc = start(["serve", "--port", str(port)], cwd=tmp, log=log, DATABASE_URL=dsn, REDIS_URL=redis_url,
                 SWITCHBOARD_SECRET_KEY=secret, SWITCHBOARD_DATA_DIR=str(tmp / f"data-{name}"),
                 SWITCHBOARD_RUN_WORKERS="true" if workers else "false",
                 SWITCHBOARD_METRICS_STORE_KPIS="false", PYTHONFAULTHANDLER="1")
    return Gateway(name, port, proc, log)


def _stop_or_dump(proc: subprocess.Popen[bytes], timeout: float = 45) -> int:
    """SIGTERM; a gateway that does not exit in time gets SIGABRT, so faulthandler logs every thread's stack."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            return stop(proc, timeout=5)
    return proc.returncode


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def desk(dsn: str, pool: AsyncConnectionPool, tenant: Tenant, redis: RedisServer,
               tmp_path: Path) -> AsyncIterator[Desk]:
    email = "agent@scale.test"
    await make_agent(pool, tenant, email)
    secret = secrets.token_urlsafe(48)  # both gateways must verify each other's visitor tokens and cookies
    a = _start_gateway("a", tmp_path, dsn, redis.url, secret, workers=False)
    b = _start_gateway("b", tmp_path, dsn, redis.url, secret, workers=True)

    def logs() -> str:
        return "\n".join(f"--- {g.name} ---\n{g.log.read_text(errors='replace')[-4000:]}" for g in (a, b))

    started = False
    try:
        for g in (a, b):
            await asyncio.to_thread(wait_until, lambda g=g: http_ok(f"{g.url}/readyz") or g.proc.poll() is not None,
                                    timeout=READY_SECONDS, what=f"gateway {g.name} /readyz")
            assert g.proc.poll() is None, logs()
        started = True
        yield Desk(a, b, redis, tenant, email, logs)
    finally:
        codes = [_stop_or_dump(g.proc) for g in (a, b)]
        if started:  # a gateway stopped before it installed its signal handlers exits -15; that is no finding
            assert codes == [0, 0], logs()


class Console:
    """An agent signed in on one gateway: HTTP API plus the /copilot socket's ``conversation`` events."""

    def __init__(self, client: ConsoleClient, sio: socketio.AsyncClient) -> None:
        self.client = client
        self.sio = sio
        self.events: list[dict[str, Any]] = []
        sio.on("conversation", self.events.append, namespace="/copilot")

    @classmethod
    @contextlib.asynccontextmanager
    async def signed_in(cls, url: str, email: str) -> AsyncIterator[Console]:
        client = ConsoleClient(url)
        try:
            assert await client.login(email, PASSWORD) == 303
            sio = await client.socket()
            try:
                yield cls(client, sio)
            finally:
                await sio.disconnect()
        finally:
            await client.close()

    async def reply(self, conversation_id: int, text: str) -> dict[str, Any]:
        ack: dict[str, Any] = await self.client.post(f"/console/api/conversations/{conversation_id}/reply",
                                                     {"text": text})
        assert ack["ok"], ack
        return ack


@contextlib.asynccontextmanager
async def visitor_on(url: str, token: str) -> AsyncIterator[Visitor]:
    v = Visitor()
    await v.connect(url, token)
    try:
        yield v
    finally:
        await v.sio.disconnect()


def _agent_text(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("author") == "agent" and m.get("text") == text


def _subscribers(port: int, channel: str = "socketio") -> int:
    """How many connections are subscribed to the Socket.IO channel (``PUBSUB NUMSUB``), -1 if down."""
    cmd = f"*3\r\n$6\r\nPUBSUB\r\n$6\r\nNUMSUB\r\n${len(channel)}\r\n{channel}\r\n".encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(cmd)
            reply = s.recv(256).split(b"\r\n")  # *2 / $8 / socketio / :N
    except OSError:
        return -1
    for part in reply:
        if part.startswith(b":"):
            return int(part[1:])
    return -1


async def test_customer_on_a_and_agent_on_b_see_each_other_live(desk: Desk) -> None:
    tok = await session_token(desk.a.url, desk.tenant.slug)
    async with visitor_on(desk.a.url, tok["token"]) as v, \
            Console.signed_in(desk.b.url, desk.agent_email) as agent:
        first = await v.call("message", {"client_id": "scale-1", "text": "Hello, is anybody there?"})
        assert first["ok"], first
        cid = first["conversation_id"]
        # The customer's message taken in on A reaches the agent's socket on B (PostgreSQL LISTEN relay).
        await poll_until(lambda: any(e.get("id") == cid for e in agent.events), within=LIVE_SECONDS)

        # The agent answers through B's console API; B's dispatcher emits through Redis to A's socket.
        ack = await agent.reply(cid, "Hi, this is Sam from support.")
        got = await v.wait_for(_agent_text("Hi, this is Sam from support."), within=LIVE_SECONDS)
        assert got["id"] == ack["message_id"] and got["conversation_id"] == cid

        # The customer's next message on A shows up in B's event stream and in B's view of the thread.
        agent.events.clear()
        second = await v.call("message", {"client_id": "scale-2", "text": "Thanks Sam, my invoice is wrong",
                                          "conversation_id": cid})
        assert second["ok"] and second["conversation_id"] == cid and second["seq"] > first["seq"], second
        await poll_until(lambda: any(e.get("id") == cid for e in agent.events), within=LIVE_SECONDS)
        detail = await agent.client.get(f"/console/api/conversations/{cid}")
        assert "Thanks Sam, my invoice is wrong" in str(detail)

        # Exactly once on the socket: each pushed message id once.
        ids = [m["id"] for m in v.pushed]
        assert len(ids) == len(set(ids)), v.pushed
    assert desk.a.proc.poll() is None and desk.b.proc.poll() is None, desk.logs()


async def test_redis_restart_both_gateways_keep_working(desk: Desk) -> None:
    tok = await session_token(desk.a.url, desk.tenant.slug)
    async with Console.signed_in(desk.b.url, desk.agent_email) as agent:
        v = Visitor()
        await v.connect(desk.a.url, tok["token"])
        try:
            first = await v.call("message", {"client_id": "r-1", "text": "Hello, I need some help"})
            assert first["ok"], first
            cid = first["conversation_id"]
            await agent.reply(cid, "Before the restart")
            await v.wait_for(_agent_text("Before the restart"), within=LIVE_SECONDS)

            desk.redis.kill()
            # The store is the truth: with Redis down the agent can still reply (the live push may be lost).
            during = await agent.reply(cid, "While Redis was down")
            desk.redis.start()
            # Both gateways' Redis listeners come back by themselves (python-socketio retries with backoff).
            await asyncio.to_thread(wait_until, lambda: _subscribers(desk.redis.port) >= 2, timeout=LIVE_SECONDS,
                                    what="both gateways to resubscribe to Redis")

            if not v.sio.connected:  # the chat socket is held by A, not Redis; reconnect if it was dropped anyway
                await v.sio.disconnect()
                v = Visitor()
                await v.connect(desk.a.url, tok["token"])
            # Resume fills whatever the outage swallowed: the reply written meanwhile is there exactly once.
            seen = {m["seq"] for m in v.pushed if m["conversation_id"] == cid}
            last_seq = max(s for s in seen if s < during["seq"]) if any(s < during["seq"] for s in seen) else 0
            resumed = await v.call("resume", {"conversation_id": cid, "last_seq": last_seq})
            assert resumed["ok"], resumed
            texts = [m["text"] for m in resumed["messages"]]
            assert texts.count("While Redis was down") == 1, resumed

            # A later reply reaches the visitor live again, once; the customer's next message reaches B.
            agent.events.clear()
            after = await agent.reply(cid, "After the restart")
            got = await v.wait_for(_agent_text("After the restart"), within=LIVE_SECONDS)
            assert got["id"] == after["message_id"]
            second = await v.call("message", {"client_id": "r-2", "text": "Great, thank you", "conversation_id": cid})
            assert second["ok"], second
            await poll_until(lambda: any(e.get("id") == cid for e in agent.events), within=LIVE_SECONDS)
            await asyncio.sleep(1.0)  # a short grace window to catch a late duplicate push (not synchronization)
            assert [m["id"] for m in v.pushed].count(after["message_id"]) == 1, v.pushed
        finally:
            await v.sio.disconnect()
    for g in (desk.a, desk.b):
        assert g.proc.poll() is None and http_ok(f"{g.url}/readyz"), desk.logs()
