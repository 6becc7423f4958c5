"""Skill-based assignment: required skills, available, under max load; least loaded first, round robin
among equals; nobody eligible → the escalated queue and the admins are told.

Concurrency: callers lock the conversation row first (``transition`` does), then :func:`pick` takes the
tenant's routing lock (``store.routing.lock_tenant``), counts load with a fresh statement and the caller
assigns in the same transaction, so concurrent assignments queue up behind each other and each sees
the ones before it. One lock order everywhere (conversation rows, then the tenant lock) means no
deadlocks between handoffs, re-queues and the SLA ladder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from gateway.ops.notify import notify_agents
from store import conversations, routing, sla
from store.models import AuthorKind, ConversationStatus, Direction

S = ConversationStatus
ESCALATED_PRIORITY = 3


def utcnow() -> datetime:
    return datetime.now(UTC)


class SkillRouter:
    """agent_graph.ports.Router, plus the gateway's own ways in (route, re-queue on unavailability)."""

    def __init__(self, base_url: str = "", clock: Callable[[], datetime] = utcnow) -> None:
        self.base_url = base_url
        self.clock = clock

    async def choose_agent(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                           skills: tuple[str, ...]) -> int | None:
        """The caller assigns the returned agent in this transaction; None has already escalated."""
        agent_id = await self.pick(conn, tenant_id, skills)
        if agent_id is None:
            await self.escalate_unrouted(conn, tenant_id, conversation_id, skills)
        return agent_id

    async def pick(self, conn: AsyncConnection[Any], tenant_id: int, skills: tuple[str, ...], *,
                   exclude: tuple[int, ...] = ()) -> int | None:
        await routing.lock_tenant(conn, tenant_id)
        found = await routing.candidates(conn, tenant_id, skills, exclude=exclude)
        if not found:
            return None
        tied = sorted(c.agent_id for c in found if c.load == found[0].load)
        last = await routing.last_picked(conn, tenant_id)
        chosen = next((a for a in tied if last is not None and a > last), tied[0])
        await routing.remember_pick(conn, tenant_id, chosen)
        return chosen

    async def route(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, actor: str,
                    exclude: tuple[int, ...] = ()) -> int | None:
        """Assigns a pending conversation by its classification's skills, or escalates it."""
        skills = await routing.required_skills(conn, tenant_id, conversation_id)
        agent_id = await self.pick(conn, tenant_id, skills, exclude=exclude)
        if agent_id is None:
            await self.escalate_unrouted(conn, tenant_id, conversation_id, skills)
            return None
        await conversations.assign(conn, tenant_id, conversation_id, agent_id, actor=actor)
        return agent_id

    async def escalate_unrouted(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                                skills: tuple[str, ...]) -> None:
        now = self.clock()
        conv = await conversations.get(conn, tenant_id, conversation_id)
        await sla.bump_queue(conn, tenant_id, conversation_id, ESCALATED_PRIORITY, escalate_at=now)
        wanted = f" with skills {', '.join(skills)}" if skills else ""
        text = f"No available agent{wanted} is under their load limit; escalated to the admins."
        await conversations.append_message(conn, tenant_id, conversation_id, direction=Direction.INTERNAL,
                                           author_kind=AuthorKind.SYSTEM, channel=conv.last_channel, text=text,
                                           raw={"ops": "unrouted", "skills": list(skills)})
        cur = await conn.execute("SELECT coalesce(max(id), 0) AS id FROM status_changes WHERE tenant_id = %s"
                                 " AND conversation_id = %s", (tenant_id, conversation_id))
        row = await cur.fetchone()
        episode = row["id"] if row else 0  # one notice per hand-off, however often routing is retried
        admins = await routing.agents_with_role(conn, tenant_id, ("admin",))
        await notify_agents(conn, tenant_id, admins, kind="unrouted", title=f"Conversation #{conversation_id} needs an agent",
                            body=text, dedupe_key=f"unrouted:{conversation_id}:{episode}", now=now,
                            conversation_id=conversation_id, base_url=self.base_url)

    async def set_availability(self, conn: AsyncConnection[Any], tenant_id: int, agent_id: int, available: bool, *,
                               actor: str) -> list[int]:
        """Going unavailable puts the agent's open conversations back through routing; returns their ids."""
        changed = await routing.set_available(conn, tenant_id, agent_id, available)
        if available or not changed:
            return []
        ids = await routing.open_assigned_to(conn, tenant_id, agent_id)
        for cid in ids:
            await conversations.transition(conn, tenant_id, cid, S.PENDING_AGENT, actor=actor,
                                           reason=f"agent {agent_id} became unavailable")
            await self.route(conn, tenant_id, cid, actor="router:requeue", exclude=(agent_id,))
        return ids
