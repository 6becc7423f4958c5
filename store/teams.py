"""Teams (members and one lead) and who the "team lead" and "managers" of a conversation are.

A conversation's team: the teams its assignee belongs to (as member or lead); while nobody owns it,
the teams whose skills cover what its latest classification asked for. The ladder's "notify the team
lead" means those teams' leads; "notify managers" means those leads plus the tenant's admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    tenant_id: int
    slug: str
    name: str
    lead_id: int | None
    skills: tuple[str, ...]
    member_ids: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "slug": self.slug, "name": self.name, "lead_id": self.lead_id,
                "skills": list(self.skills), "member_ids": list(self.member_ids)}


_SELECT = (
    "SELECT t.*, coalesce(array(SELECT m.agent_id FROM team_members m WHERE m.tenant_id = t.tenant_id"
    "   AND m.team_id = t.id ORDER BY m.agent_id), '{}') AS member_ids FROM teams t"
)


def _team(row: dict[str, Any]) -> Team:
    return Team(row["id"], row["tenant_id"], row["slug"], row["name"], row["lead_id"], tuple(row["skills"]),
                tuple(row["member_ids"]))


async def list_all(conn: AsyncConnection[Any], tenant_id: int) -> list[Team]:
    cur = await conn.execute(_SELECT + " WHERE t.tenant_id = %s ORDER BY t.id", (tenant_id,))
    return [_team(r) for r in await cur.fetchall()]


async def get(conn: AsyncConnection[Any], tenant_id: int, team_id: int) -> Team | None:
    cur = await conn.execute(_SELECT + " WHERE t.tenant_id = %s AND t.id = %s", (tenant_id, team_id))
    row = await cur.fetchone()
    return _team(row) if row else None


async def create(conn: AsyncConnection[Any], tenant_id: int, *, slug: str, name: str, lead_id: int | None,
                 skills: list[str], member_ids: list[int]) -> Team:
    """Raises psycopg's UniqueViolation for a taken slug, ForeignKeyViolation for an unknown agent."""
    cur = await conn.execute(
        "INSERT INTO teams (tenant_id, slug, name, lead_id, skills) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (tenant_id, slug, name, lead_id, skills))
    row = await cur.fetchone()
    assert row is not None
    await set_members(conn, tenant_id, row["id"], member_ids)
    team = await get(conn, tenant_id, row["id"])
    assert team is not None
    return team


async def update(conn: AsyncConnection[Any], tenant_id: int, team_id: int, changes: dict[str, Any]) -> Team | None:
    members = changes.pop("member_ids", None)
    if changes:
        cols = ", ".join(f"{k} = %s" for k in changes)  # keys checked by the caller
        cur = await conn.execute(f"UPDATE teams SET {cols} WHERE tenant_id = %s AND id = %s",
                                 (*changes.values(), tenant_id, team_id))
        if cur.rowcount == 0:
            return None
    if members is not None:
        if await get(conn, tenant_id, team_id) is None:
            return None
        await set_members(conn, tenant_id, team_id, members)
    return await get(conn, tenant_id, team_id)


async def delete(conn: AsyncConnection[Any], tenant_id: int, team_id: int) -> bool:
    """Raises RestrictViolation while an escalation path is owned by the team."""
    cur = await conn.execute("DELETE FROM teams WHERE tenant_id = %s AND id = %s", (tenant_id, team_id))
    return cur.rowcount == 1


async def set_members(conn: AsyncConnection[Any], tenant_id: int, team_id: int, agent_ids: list[int]) -> None:
    await conn.execute("DELETE FROM team_members WHERE tenant_id = %s AND team_id = %s AND NOT (agent_id = ANY(%s))",
                       (tenant_id, team_id, agent_ids))
    await conn.execute(
        "INSERT INTO team_members (tenant_id, team_id, agent_id) SELECT %s, %s, unnest(%s::bigint[])"
        " ON CONFLICT DO NOTHING", (tenant_id, team_id, agent_ids))


async def conversation_team_ids(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[int]:
    """The assignee's teams; without an assignee (or when they are in none), the teams covering its skills."""
    cur = await conn.execute(
        "WITH conv AS (SELECT assignee_id FROM conversations WHERE tenant_id = %(t)s AND id = %(c)s),"
        " wanted AS (SELECT skills FROM message_classifications WHERE tenant_id = %(t)s AND conversation_id = %(c)s"
        "   ORDER BY id DESC LIMIT 1),"
        " by_assignee AS (SELECT t.id FROM teams t, conv WHERE t.tenant_id = %(t)s AND (t.lead_id = conv.assignee_id"
        "   OR EXISTS (SELECT 1 FROM team_members m WHERE m.tenant_id = t.tenant_id AND m.team_id = t.id"
        "   AND m.agent_id = conv.assignee_id)))"
        " SELECT id FROM by_assignee UNION"
        " SELECT t.id FROM teams t, wanted WHERE t.tenant_id = %(t)s AND NOT EXISTS (SELECT 1 FROM by_assignee)"
        "   AND t.skills && wanted.skills ORDER BY 1",
        {"t": tenant_id, "c": conversation_id})
    return [int(r["id"]) for r in await cur.fetchall()]


async def leads_for_conversation(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[int]:
    team_ids = await conversation_team_ids(conn, tenant_id, conversation_id)
    cur = await conn.execute(
        "SELECT DISTINCT lead_id FROM teams WHERE tenant_id = %s AND id = ANY(%s) AND lead_id IS NOT NULL ORDER BY 1",
        (tenant_id, team_ids))
    return [int(r["lead_id"]) for r in await cur.fetchall()]


async def people(conn: AsyncConnection[Any], tenant_id: int, team_id: int) -> list[int]:
    """The team's lead first, then its members: who an escalation to the team reaches."""
    team = await get(conn, tenant_id, team_id)
    if team is None:
        return []
    return list(dict.fromkeys([*([team.lead_id] if team.lead_id else []), *team.member_ids]))


async def report(conn: AsyncConnection[Any], tenant_id: int, team_id: int, *, days: int) -> list[dict[str, Any]]:
    """Per person on the team: open load, resolved and SLA breaches in the window, open escalations."""
    cur = await conn.execute(
        "WITH people AS (SELECT lead_id AS agent_id FROM teams WHERE tenant_id = %(t)s AND id = %(team)s"
        "   AND lead_id IS NOT NULL UNION SELECT agent_id FROM team_members WHERE tenant_id = %(t)s"
        "   AND team_id = %(team)s)"
        " SELECT a.id, a.name, a.role, a.available, a.max_load,"
        " (SELECT count(*) FROM conversations c WHERE c.tenant_id = a.tenant_id AND c.assignee_id = a.id"
        "   AND c.status IN ('assigned', 'waiting_customer')) AS open,"
        " (SELECT count(*) FROM conversations c WHERE c.tenant_id = a.tenant_id AND c.assignee_id = a.id"
        "   AND c.resolved_at >= now() - make_interval(days => %(days)s)) AS resolved,"
        " (SELECT count(*) FROM sla_rungs r JOIN conversations c ON c.tenant_id = r.tenant_id"
        "   AND c.id = r.conversation_id WHERE r.tenant_id = a.tenant_id AND c.assignee_id = a.id AND r.rung = 100"
        "   AND NOT r.skipped AND r.fired_at >= now() - make_interval(days => %(days)s)) AS breaches"
        " FROM agents a JOIN people p ON p.agent_id = a.id WHERE a.tenant_id = %(t)s ORDER BY a.id",
        {"t": tenant_id, "team": team_id, "days": days})
    return list(await cur.fetchall())
