"""A chat push published while Redis is down stays in the outbox and goes out once Redis is back.

python-socketio's ``AsyncRedisManager`` logs a failed publish and returns, so the chat sender used to
mark such a delivery sent while the push went nowhere (only the customer's ``resume`` recovered it).
``gateway.socket_fanout.CheckedRedisManager`` raises instead; this test drives the real dispatcher
and chat sender against a private ``redis-server`` that is killed and started again, and listens on
Redis itself to see the push arrive, once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool

from channels.chat import ChatSender
from gateway.dispatcher import Dispatcher
from gateway.ingest import ingest
from gateway.replies import send_reply
from gateway.socket_fanout import CheckedRedisManager
from store import outbox
from store.models import AuthorKind, Channel, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories as f
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _row(pool: AsyncConnectionPool, tenant_id: int, conversation_id: int) -> dict[str, Any]:
    async with pool.connection() as conn:
        rows = await outbox.for_conversation(conn, tenant_id, conversation_id)
    [row] = [r for r in rows if r["channel"] == Channel.CHAT.value]
    return dict(row)


async def test_a_push_redis_refused_is_retried_not_marked_sent(
        pool: AsyncConnectionPool, tenant: Tenant, redis_server: RedisServer) -> None:
    result = await ingest(pool, f.chat(tenant.id, "visitor-1", "Hello?"))
    async with pool.connection() as conn, conn.transaction():
        await send_reply(conn, tenant.id, result.conversation_id, Reply(ReplyKind.ANSWER, "Sent during the outage"),
                         author_kind=AuthorKind.AGENT, answers_message_id=result.message_id)
    manager = CheckedRedisManager(redis_server.url, write_only=True)
    dispatcher = Dispatcher(pool, {Channel.CHAT: ChatSender(manager, pool)})

    redis_server.kill()
    assert await dispatcher.run_once() == 1
    row = await _row(pool, tenant.id, result.conversation_id)
    assert row["status"] == "pending" and "Redis" in row["last_error"], row

    redis_server.start()
    listener = aioredis.Redis.from_url(redis_server.url)
    pubsub = listener.pubsub()
    await pubsub.subscribe("socketio")
    try:
        async with pool.connection() as conn:  # due now: the test need not wait out the backoff
            await conn.execute("UPDATE outbox SET next_attempt_at = now() WHERE id = %s", (row["id"],))
        assert await dispatcher.run_once() == 1
        assert (await _row(pool, tenant.id, result.conversation_id))["status"] == "sent"
        pushes = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not pushes:
            note = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if note is not None:
                pushes.append(json.loads(note["data"]))
        [push] = pushes
        assert push["event"] == "message" and push["data"][0]["text"] == "Sent during the outage", push
    finally:
        await pubsub.aclose()
        await listener.aclose()
