"""Skill routing: least loaded, round robin, max load under concurrency, escalation, re-queue."""

from __future__ import annotations

import asyncio
from collections import Counter

from psycopg_pool import AsyncConnectionPool

from gateway.ops.routing import SkillRouter
from store import conversations, notifications, routing
from store.models import ConversationStatus
from store.tenants import Tenant
from tests.ops import seed

S = ConversationStatus


async def hand_off(pool: AsyncConnectionPool, router: SkillRouter, tenant_id: int, cid: int) -> int | None:
    """What the agent graph's handoff does: transition, choose, assign — one transaction."""
    async with pool.connection() as conn, conn.transaction():
        await conversations.transition(conn, tenant_id, cid, S.PENDING_AGENT, actor="ai")
        skills = await routing.required_skills(conn, tenant_id, cid)
        agent = await router.choose_agent(conn, tenant_id, cid, skills)
        if agent is not None:
            await conversations.assign(conn, tenant_id, cid, agent, actor="ai:router")
        return agent


async def test_least_loaded_first_then_round_robin_among_equals(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    router = SkillRouter()
    a = await seed.agent(pool, tenant.id, "a", skills=("billing",))
    b = await seed.agent(pool, tenant.id, "b", skills=("billing",))
    c = await seed.agent(pool, tenant.id, "c", skills=("billing",))
    busy = await seed.conversation(pool, tenant.id, status="assigned", assignee_id=b)  # b has one already
    picks = []
    for _ in range(5):
        cid = await seed.conversation(pool, tenant.id, status="ai_active")
        await seed.classify(pool, tenant.id, cid, ("billing",))
        picks.append(await hand_off(pool, router, tenant.id, cid))
    # a, c (load 0), then all at 1: round robin continues after c → a, b, c.
    assert picks == [a, c, a, b, c]
    assert busy


async def test_required_skill_is_required_and_no_match_escalates(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    router = SkillRouter()
    await seed.agent(pool, tenant.id, "generalist")
    admin = await seed.agent(pool, tenant.id, "boss", role="admin", available=False)
    cid = await seed.conversation(pool, tenant.id, status="ai_active")
    await seed.classify(pool, tenant.id, cid, ("legal",))
    assert await hand_off(pool, router, tenant.id, cid) is None
    [conv] = await seed.rows(pool, "SELECT status, escalated_at, queue_priority FROM conversations WHERE id = %s", cid)
    assert conv["status"] == "pending_agent" and conv["escalated_at"] is not None and conv["queue_priority"] == 3
    notes = await seed.rows(pool, "SELECT text FROM messages WHERE conversation_id = %s AND direction = 'internal'"
                            " AND author_kind = 'system'", cid)
    assert len(notes) == 1 and "legal" in notes[0]["text"]
    async with pool.connection() as conn:
        told = await notifications.list_for(conn, tenant.id, admin)
    assert [(n.kind, n.conversation_id) for n in told] == [("unrouted", cid)]


async def test_twenty_concurrent_assignments_never_overshoot_max_load(pool: AsyncConnectionPool,
                                                                      tenant: Tenant) -> None:
    router = SkillRouter()
    team = [await seed.agent(pool, tenant.id, f"agent{i}", max_load=3) for i in range(4)]  # room for 12
    cids = [await seed.conversation(pool, tenant.id, status="ai_active") for _ in range(20)]
    picks = await asyncio.gather(*(hand_off(pool, router, tenant.id, cid) for cid in cids))
    assigned = Counter(p for p in picks if p is not None)
    assert sorted(assigned.values()) == [3, 3, 3, 3] and sum(p is None for p in picks) == 8
    load = await seed.rows(pool, "SELECT assignee_id, count(*) AS n FROM conversations WHERE tenant_id = %s"
                           " AND status = 'assigned' GROUP BY 1", tenant.id)
    assert {r["assignee_id"]: r["n"] for r in load} == dict.fromkeys(team, 3)


async def test_agent_going_unavailable_requeues_their_open_conversations(pool: AsyncConnectionPool,
                                                                         tenant: Tenant) -> None:
    router = SkillRouter()
    leaving = await seed.agent(pool, tenant.id, "leaving")
    staying = await seed.agent(pool, tenant.id, "staying", max_load=1)
    first = await seed.conversation(pool, tenant.id, status="assigned", assignee_id=leaving)
    second = await seed.conversation(pool, tenant.id, status="waiting_customer", assignee_id=leaving)
    done = await seed.conversation(pool, tenant.id, status="resolved", assignee_id=leaving)
    async with pool.connection() as conn, conn.transaction():
        moved = await router.set_availability(conn, tenant.id, leaving, False, actor="agent:self")
    assert moved == [first, second]
    got = {r["id"]: (r["status"], r["assignee_id"]) for r in await seed.rows(
        pool, "SELECT id, status, assignee_id FROM conversations WHERE tenant_id = %s", tenant.id)}
    assert got[first] == ("assigned", staying)  # staying had room for one
    assert got[second] == ("pending_agent", None)  # nobody left: escalated queue
    assert got[done] == ("resolved", leaving)
    async with pool.connection() as conn, conn.transaction():  # already unavailable: nothing to do
        assert await router.set_availability(conn, tenant.id, leaving, False, actor="agent:self") == []
