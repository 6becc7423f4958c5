"""What the router reads and locks: agents' live load, the per-tenant round-robin pointer, and the
per-tenant routing lock.

Load = conversations assigned to the agent in ``assigned`` or ``waiting_customer``. Assignment is
serialised per tenant with a transaction-scoped advisory lock taken *after* the conversation row is
locked (every caller locks its conversation first), and load is counted by a statement that starts
after the lock is held, so it sees every assignment committed before. That makes "never over max
load" hold across processes without locking agent rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

ROUTING_LOCK = 0x526F7574  # "Rout"; the second key is the tenant id
LOAD_STATUSES = ("assigned", "waiting_customer")


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: int
    load: int
    max_load: int


async def lock_tenant(conn: AsyncConnection[Any], tenant_id: int) -> None:
    """Held until the caller's transaction ends, so the chosen agent's assignment commits under it."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s::int)", (ROUTING_LOCK, tenant_id))


async def candidates(conn: AsyncConnection[Any], tenant_id: int, skills: tuple[str, ...], *,
                     exclude: tuple[int, ...] = ()) -> list[Candidate]:
    """Available agents with every skill and room under max load, least loaded first."""
    cur = await conn.execute(
        "SELECT a.id, a.max_load, (SELECT count(*) FROM conversations c WHERE c.tenant_id = a.tenant_id"
        "   AND c.assignee_id = a.id AND c.status = ANY(%s)) AS load"
        " FROM agents a WHERE a.tenant_id = %s AND a.available"
        " AND a.skills @> %s AND NOT (a.id = ANY(%s)) ORDER BY load, a.id",
        (list(LOAD_STATUSES), tenant_id, list(skills), list(exclude)))
    return [Candidate(int(r["id"]), int(r["load"]), int(r["max_load"])) for r in await cur.fetchall()
            if r["load"] < r["max_load"]]


async def last_picked(conn: AsyncConnection[Any], tenant_id: int) -> int | None:
    cur = await conn.execute("SELECT last_agent_id FROM routing_rotation WHERE tenant_id = %s", (tenant_id,))
    row = await cur.fetchone()
    return int(row["last_agent_id"]) if row and row["last_agent_id"] is not None else None


async def remember_pick(conn: AsyncConnection[Any], tenant_id: int, agent_id: int) -> None:
    await conn.execute(
        "INSERT INTO routing_rotation (tenant_id, last_agent_id) VALUES (%s, %s) ON CONFLICT (tenant_id)"
        " DO UPDATE SET last_agent_id = excluded.last_agent_id, updated_at = now()", (tenant_id, agent_id))


async def required_skills(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> tuple[str, ...]:
    """The skills the latest classification of the conversation asked for."""
    cur = await conn.execute(
        "SELECT skills FROM message_classifications WHERE tenant_id = %s AND conversation_id = %s"
        " ORDER BY id DESC LIMIT 1", (tenant_id, conversation_id))
    row = await cur.fetchone()
    return tuple(row["skills"]) if row else ()


async def set_available(conn: AsyncConnection[Any], tenant_id: int, agent_id: int, available: bool) -> bool:
    """True when availability actually changed."""
    cur = await conn.execute(
        "UPDATE agents SET available = %s WHERE tenant_id = %s AND id = %s AND available IS DISTINCT FROM %s",
        (available, tenant_id, agent_id, available))
    return cur.rowcount == 1


async def open_assigned_to(conn: AsyncConnection[Any], tenant_id: int, agent_id: int) -> list[int]:
    """The agent's open conversations, locked in id order (a consistent order: no deadlocks between re-queues)."""
    cur = await conn.execute(
        "SELECT id FROM conversations WHERE tenant_id = %s AND assignee_id = %s"
        " AND status IN ('assigned', 'waiting_customer') ORDER BY id FOR UPDATE",
        (tenant_id, agent_id))
    return [int(r["id"]) for r in await cur.fetchall()]


async def agents_with_role(conn: AsyncConnection[Any], tenant_id: int, roles: tuple[str, ...]) -> list[int]:
    cur = await conn.execute("SELECT id FROM agents WHERE tenant_id = %s AND role = ANY(%s) ORDER BY id",
                             (tenant_id, list(roles)))
    return [int(r["id"]) for r in await cur.fetchall()]
