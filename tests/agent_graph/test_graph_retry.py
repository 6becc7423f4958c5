"""A job that died mid-graph is retried from its last checkpoint, and the customer gets one reply.

The dangerous window is between a sending node's database commit (message + outbox row) and
LangGraph's checkpoint of that node: a worker killed there leaves an outbox row on disk while the
checkpoint still says "respond next". The retried job must finish the episode without a second
outbox row. The crash is simulated by a real ``ReplySink`` wrapping the gateway's, which fails
once: either before anything commits (the node's transaction rolls back) or after committing the
reply on its own connection (exactly the on-disk state of the dangerous window).
"""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agent_graph.graph import thread_id
from agent_graph.nodes.decide import Decision
from agent_graph.runner import AgentRunner
from gateway.replies import AIReplySink
from store.models import ConversationStatus, Message, Reply
from store.tenants import Tenant
from tests.agent_graph.conftest import SkillRouter, ai_outbox, say, status_of

BASE = "http://switchboard.test"


class WorkerKilled(RuntimeError):
    """Stands in for the process dying: nothing after the raise runs in this attempt."""


class CrashingSink:
    """agent_graph.ports.ReplySink: the gateway's sink, but the first send kills the worker.

    ``committed=True`` writes the reply on a connection of its own and commits it before dying, so
    the message and outbox row survive while the node's own transaction (status change, run record)
    and its checkpoint do not.
    """

    def __init__(self, pool: AsyncConnectionPool, *, committed: bool) -> None:
        self.inner = AIReplySink(BASE)
        self.pool = pool
        self.committed = committed
        self.crashed = False

    async def send(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, reply: Reply, *,
                   answers_message_id: int | None) -> Message:
        if self.crashed:
            return await self.inner.send(conn, tenant_id, conversation_id, reply,
                                         answers_message_id=answers_message_id)
        self.crashed = True
        if self.committed:
            async with self.pool.connection() as own, own.transaction():
                await self.inner.send(own, tenant_id, conversation_id, reply, answers_message_id=answers_message_id)
        else:
            await self.inner.send(conn, tenant_id, conversation_id, reply, answers_message_id=answers_message_id)
        raise WorkerKilled("worker killed after writing the reply")


@pytest.mark.parametrize("committed", [True, False], ids=["reply-committed", "reply-rolled-back"])
async def test_a_job_killed_mid_graph_resumes_from_the_checkpoint_and_sends_once(
    pool: AsyncConnectionPool, kb_tenant: Tenant, committed: bool
) -> None:
    r = await say(pool, kb_tenant, "How do I reset my password?")
    crashing = AgentRunner(pool, reply_sink=CrashingSink(pool, committed=committed), router=SkillRouter())
    await crashing.start()
    try:
        with pytest.raises(WorkerKilled):
            await crashing.run(kb_tenant.id, r.conversation_id, r.message_id)
    finally:
        await crashing.close()
    assert len(await ai_outbox(pool, kb_tenant.id, r.conversation_id)) == (1 if committed else 0)

    # The job is retried by another process: a fresh runner, same checkpoint store.
    async with AgentRunner(pool, reply_sink=AIReplySink(BASE), router=SkillRouter()) as retry:
        config = {"configurable": {"thread_id": thread_id(kb_tenant.id, r.conversation_id)}}
        snapshot = await retry.graph.aget_state(config)
        assert snapshot.next == ("respond",) and not snapshot.interrupts  # mid-graph, not a new episode
        out = await retry.run(kb_tenant.id, r.conversation_id, r.message_id)
        assert out.decision is Decision.ANSWER and out.acted
        again = await retry.run(kb_tenant.id, r.conversation_id, r.message_id)  # retried once more
        assert again.decision is Decision.NOTHING_NEW

    rows = await ai_outbox(pool, kb_tenant.id, r.conversation_id)
    assert [row["reply_kind"] for row in rows] == ["answer"]
    assert rows[0]["message_id"] == out.reply_message_id
    assert (await status_of(pool, kb_tenant.id, r.conversation_id)).status is ConversationStatus.WAITING_CUSTOMER
