"""The outbox: several dispatchers never double-send, a crash loses nothing, failures are visible."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from gateway.app import services
from gateway.dispatcher import Dispatcher
from gateway.ingest import ingest
from gateway.replies import send_reply
from store import outbox
from store.models import AuthorKind, Channel, Reply, ReplyKind
from store.outbox import Delivery, PermanentDeliveryError, TransientDeliveryError
from store.tenants import Tenant
from tests import factories as f
from tests.channels.test_chat import Visitor, poll_until, session_token
from tests.servers.gateway import RunningGateway, running_gateway


async def _write_replies(pool: AsyncConnectionPool, tenant_id: int, conversation_id: int, n: int) -> list[int]:
    ids = []
    for i in range(n):
        async with pool.connection() as conn, conn.transaction():
            msg = await send_reply(conn, tenant_id, conversation_id, Reply(ReplyKind.ANSWER, f"reply {i}"),
                                   author_kind=AuthorKind.AGENT)
            ids.append(msg.id)
    return ids


@asynccontextmanager
async def _visitor_with_replies(pool: AsyncConnectionPool, dsn: str, tenant: Tenant, tmp_path: Path, n: int
                                ) -> AsyncIterator[tuple[RunningGateway, Visitor, list[int]]]:
    """A gateway without its own dispatcher, a connected visitor, and ``n`` agent replies waiting to go out."""
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as gw:
        tok = await session_token(gw.url, tenant.slug)
        v = Visitor()
        await v.connect(gw.url, tok["token"])
        ack = await v.call("message", {"client_id": "1", "text": "hello"})
        yield gw, v, await _write_replies(pool, tenant.id, ack["conversation_id"], n)


async def _statuses(pool: AsyncConnectionPool, tenant_id: int) -> Counter[str]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT status FROM outbox WHERE tenant_id = %s", (tenant_id,))
        return Counter(r["status"] for r in await cur.fetchall())


async def test_three_dispatchers_deliver_every_reply_exactly_once(
    pool: AsyncConnectionPool, dsn: str, tenant: Tenant, tmp_path: Path
) -> None:
    async with _visitor_with_replies(pool, dsn, tenant, tmp_path, 60) as (gw, v, ids):
        senders = services(gw.app)["senders"]
        dispatchers = [Dispatcher(pool, senders, batch=7) for _ in range(3)]

        async def drain(d: Dispatcher) -> None:
            while await d.run_once():
                pass

        await asyncio.gather(*(drain(d) for d in dispatchers))
        await poll_until(lambda: len(v.pushed) >= 60)
        counts = Counter(m["id"] for m in v.pushed)
        assert set(counts) == set(ids) and set(counts.values()) == {1}
        assert await _statuses(pool, tenant.id) == Counter({"sent": 60})
        await v.sio.disconnect()


async def test_a_dispatcher_that_dies_holding_a_lease_loses_nothing(
    pool: AsyncConnectionPool, dsn: str, tenant: Tenant, tmp_path: Path
) -> None:
    async with _visitor_with_replies(pool, dsn, tenant, tmp_path, 5) as (gw, v, ids):
        # A dispatcher leases the rows, then dies before sending (its lease is 0.5 s).
        async with pool.connection() as conn:
            leased = await outbox.claim_due(conn, [Channel.CHAT], lease_seconds=0.5)
        assert len(leased) == 5
        survivor = Dispatcher(pool, services(gw.app)["senders"])
        assert await survivor.run_once() == 0  # still leased: not taken twice
        deadline = asyncio.get_running_loop().time() + 10
        while len(v.pushed) < 5 and asyncio.get_running_loop().time() < deadline:
            await survivor.run_once()
            await asyncio.sleep(0.05)
        assert sorted(m["id"] for m in v.pushed) == ids
        assert await _statuses(pool, tenant.id) == Counter({"sent": 5})
        await v.sio.disconnect()


class FlakySender:
    """A channel peer that refuses: first transiently (with Retry-After), then for good."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, delivery: Delivery) -> None:
        self.calls += 1
        if self.calls == 1:
            raise TransientDeliveryError("429 slow down", retry_after=0.2)
        raise PermanentDeliveryError("channel_not_found")


async def test_transient_errors_retry_and_permanent_errors_are_marked_failed(
    pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    r = await ingest(pool, f.email(tenant.id, "x@example.com", "hi"))
    async with pool.connection() as conn, conn.transaction():
        await send_reply(conn, tenant.id, r.conversation_id, Reply(ReplyKind.ANSWER, "hello"),
                         author_kind=AuthorKind.AGENT)
    sender = FlakySender()
    d = Dispatcher(pool, {Channel.EMAIL: sender})
    assert await d.run_once() == 1
    async with pool.connection() as conn:
        rows = await outbox.for_conversation(conn, tenant.id, r.conversation_id)
    assert rows[0]["status"] == "pending" and "429" in rows[0]["last_error"]
    assert await d.run_once() == 0  # Retry-After is honoured: not due yet
    deadline = asyncio.get_running_loop().time() + 5
    while sender.calls < 2 and asyncio.get_running_loop().time() < deadline:
        await d.run_once()
        await asyncio.sleep(0.05)
    async with pool.connection() as conn:
        rows = await outbox.for_conversation(conn, tenant.id, r.conversation_id)
    assert rows[0]["status"] == "failed" and rows[0]["last_error"] == "channel_not_found"


def test_backoff_grows_and_is_jittered() -> None:
    import random

    rng = random.Random(7)
    samples = [outbox.backoff_seconds(a, rng=rng) for a in range(1, 12)]
    assert all(2.0 <= s <= 600 for s in samples)
    assert max(samples[6:]) > max(samples[:3])
    assert len({round(s, 3) for s in samples}) == len(samples)
