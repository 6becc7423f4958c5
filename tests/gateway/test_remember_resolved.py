"""Resolved conversations become retrieval context: whoever resolves queues a job, the worker indexes it.

The console and the customers' buttons cannot reach the brain (no upward imports), so they enqueue
a ``remember_resolved`` job in the resolving transaction and the gateway's job handler calls
``AgentRunner.remember_resolved``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph.runner import AgentRunner
from gateway.agent_jobs import job_handlers
from gateway.customer_actions import CustomerActionHandler
from gateway.ingest import ingest
from gateway.jobs_runner import JobRunner
from gateway.replies import AIReplySink, send_reply
from gateway.routing import SkillRouter
from store import conversations
from store.models import AuthorKind, ConversationStatus, Reply, ReplyKind
from store.past_conversations import REMEMBER_RESOLVED
from store.tenants import Tenant
from tests import factories as f
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway

BASE = "http://switchboard.test"


async def remembered(pool: AsyncConnectionPool, tenant_id: int, conversation_id: int) -> dict[str, Any] | None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT * FROM resolved_conversations WHERE tenant_id = %s AND conversation_id = %s",
                                 (tenant_id, conversation_id))
        return await cur.fetchone()


async def remember_jobs(pool: AsyncConnectionPool, tenant_id: int) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT * FROM jobs WHERE tenant_id = %s AND kind = %s ORDER BY id",
                                 (tenant_id, REMEMBER_RESOLVED))
        return list(await cur.fetchall())


@pytest.fixture
async def runner(pool: AsyncConnectionPool) -> AsyncIterator[AgentRunner]:
    """remember_resolved needs only the pool and the embedder: the graph is never started."""
    r = AgentRunner(pool, reply_sink=AIReplySink(BASE), router=SkillRouter(BASE))
    yield r
    await r.close()


async def test_an_agent_resolving_in_the_console_is_remembered_by_the_worker(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    console = ConsoleClient(gateway.url)
    try:
        assert await console.login(f"ann@{tenant.slug}.test", PASSWORD) == 303
        r = await ingest(pool, f.email(tenant.id, "cus@example.com", "My export to CSV times out after a minute"))
        cid = r.conversation_id
        await console.post(f"/console/api/conversations/{cid}/reply",
                           {"text": "Exports over 50k rows run in the background; you get an email link."})
        resolved = await console.post(f"/console/api/conversations/{cid}/resolve")
        assert resolved["status"] == "resolved"
    finally:
        await console.close()

    deadline = time.monotonic() + 60  # the gateway's own workers run the job
    while (row := await remembered(pool, tenant.id, cid)) is None:
        assert time.monotonic() < deadline, await remember_jobs(pool, tenant.id)
        await asyncio.sleep(0.1)
    assert "CSV times out" in row["question"] and "background" in row["answer"]
    assert [j["status"] for j in await remember_jobs(pool, tenant.id)] == ["done"]


async def test_this_solved_it_button_queues_the_job_and_a_reopened_conversation_is_not_remembered(
    pool: AsyncConnectionPool, tenant: Tenant, runner: AgentRunner
) -> None:
    router = SkillRouter(BASE)
    actions = CustomerActionHandler(pool, router, BASE)
    # Only this kind: the ingests' agent_run jobs need a started graph and are not under test here.
    worker = JobRunner(pool, {REMEMBER_RESOLVED: job_handlers(runner)[REMEMBER_RESOLVED]})
    cids = []
    for who in ("solved@example.com", "reopened@example.com"):
        r = await ingest(pool, f.email(tenant.id, who, "How do I change the billing email?"))
        async with pool.connection() as conn, conn.transaction():
            await conversations.transition(conn, tenant.id, r.conversation_id, ConversationStatus.AI_ACTIVE,
                                           actor="ai", reason="test")
            await send_reply(conn, tenant.id, r.conversation_id,
                             Reply(ReplyKind.ANSWER, "Settings → Billing → Billing email."),
                             author_kind=AuthorKind.AI, answers_message_id=r.message_id, base_url=BASE)
        await actions(tenant.id, r.conversation_id, "solved", actor="customer")
        cids.append(r.conversation_id)
    assert len(await remember_jobs(pool, tenant.id)) == 2  # queued with the resolve, not yet run

    reopened = await ingest(pool, f.email(tenant.id, "reopened@example.com", "Actually it did not work"))
    assert reopened.conversation_id == cids[1]
    async with pool.connection() as conn:
        assert (await conversations.get(conn, tenant.id, cids[1])).status is not ConversationStatus.RESOLVED

    while await worker.run_once():
        pass
    row = await remembered(pool, tenant.id, cids[0])
    assert row is not None and "billing email" in row["question"] and row["answer"].startswith("Settings")
    assert await remembered(pool, tenant.id, cids[1]) is None  # reopened before the worker got to it
    assert {j["status"] for j in await remember_jobs(pool, tenant.id)} == {"done"}
