"""The whole pipeline through real interfaces: a chat visitor asks, the agent graph answers from the
knowledge base, the reply is formatted and delivered back on the socket."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from agent_graph.kb_import import import_directory
from store.tenants import Tenant
from tests.channels.test_chat import Visitor, session_token
from tests.servers.gateway import RunningGateway

DEMO_KB = Path(__file__).resolve().parents[1] / "gateway" / "demo_kb"


async def test_chat_question_gets_an_ai_answer_with_sources(gateway: RunningGateway, pool: AsyncConnectionPool,
                                                            tenant: Tenant) -> None:
    await import_directory(pool, tenant.id, DEMO_KB, progress=False)
    v = Visitor()
    await v.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    ack = await v.call("message", {"client_id": "e2e-1", "text": "How do I reset my password? I forgot it."})
    reply = await v.wait_for(lambda m: m["direction"] == "out" and m["author"] == "ai", within=90)
    assert reply["conversation_id"] == ack["conversation_id"]
    assert reply["kind"] in ("answer", "clarify", "handoff")
    if reply["kind"] == "answer":
        assert reply["sources"] and "password" in reply["sources"][0]["title"].lower()
    # The reply can be pushed before the job that wrote it is marked done: poll with a deadline.
    deadline = time.monotonic() + 60
    while True:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT status, last_error FROM jobs WHERE tenant_id = %s AND kind = 'agent_run'",
                                     (tenant.id,))
            rows = await cur.fetchall()
        if (rows and all(r["status"] == "done" for r in rows)) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert rows and all(r["status"] == "done" for r in rows), rows
    await v.sio.disconnect()
