"""Human agents: who they are, their skills, load limits and availability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class Agent:
    id: int
    tenant_id: int
    email: str
    name: str
    role: str
    skills: tuple[str, ...]
    max_load: int
    available: bool


def _agent(row: dict[str, Any]) -> Agent:
    return Agent(row["id"], row["tenant_id"], row["email"], row["name"], row["role"], tuple(row["skills"]),
                 row["max_load"], row["available"])


async def create(
    conn: AsyncConnection[Any], tenant_id: int, *, email: str, name: str, password_hash: str, role: str = "agent",
    skills: tuple[str, ...] = (), max_load: int = 5,
) -> Agent:
    cur = await conn.execute(
        "INSERT INTO agents (tenant_id, email, name, password_hash, role, skills, max_load)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (tenant_id, email.strip().lower(), name, password_hash, role, list(skills), max_load),
    )
    row = await cur.fetchone()
    assert row is not None
    return _agent(row)


async def get(conn: AsyncConnection[Any], tenant_id: int, agent_id: int) -> Agent | None:
    cur = await conn.execute("SELECT * FROM agents WHERE tenant_id = %s AND id = %s", (tenant_id, agent_id))
    row = await cur.fetchone()
    return _agent(row) if row else None


async def list_all(conn: AsyncConnection[Any], tenant_id: int) -> list[Agent]:
    cur = await conn.execute("SELECT * FROM agents WHERE tenant_id = %s ORDER BY id", (tenant_id,))
    return [_agent(r) for r in await cur.fetchall()]


async def login_record(conn: AsyncConnection[Any], email: str) -> dict[str, Any] | None:
    """The row a login checks (any tenant: an agent's email is unique across tenants)."""
    cur = await conn.execute("SELECT * FROM agents WHERE email = %s", (email.strip().lower(),))
    return await cur.fetchone()


async def available_with_skills(conn: AsyncConnection[Any], tenant_id: int, skills: tuple[str, ...]) -> list[Agent]:
    """Available agents with every required skill and room under their max load, least loaded first."""
    cur = await conn.execute(
        "SELECT a.*, (SELECT count(*) FROM conversations c WHERE c.tenant_id = a.tenant_id AND c.assignee_id = a.id"
        "   AND c.status IN ('assigned', 'waiting_customer')) AS load"
        " FROM agents a WHERE a.tenant_id = %s AND a.available AND a.skills @> %s ORDER BY load, a.id",
        (tenant_id, list(skills)),
    )
    return [_agent(r) for r in await cur.fetchall() if r["load"] < r["max_load"]]
