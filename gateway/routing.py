"""Choosing a human agent: available, skilled, under max load, least loaded first."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from store import agents


class SkillRouter:
    """agent_graph.ports.Router: the agent with every required skill and the most room, else anyone free."""

    async def choose_agent(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                           skills: tuple[str, ...]) -> int | None:
        for wanted in (skills, ()):
            for candidate in await agents.available_with_skills(conn, tenant_id, wanted):
                # Lock the agent and count again, so concurrent handoffs never push anyone over max load.
                cur = await conn.execute(
                    "SELECT a.max_load, (SELECT count(*) FROM conversations c WHERE c.tenant_id = a.tenant_id"
                    "  AND c.assignee_id = a.id AND c.status IN ('assigned', 'waiting_customer')) AS load"
                    " FROM agents a WHERE a.tenant_id = %s AND a.id = %s AND a.available FOR UPDATE",
                    (tenant_id, candidate.id),
                )
                row = await cur.fetchone()
                if row and row["load"] < row["max_load"]:
                    return candidate.id
        return None
