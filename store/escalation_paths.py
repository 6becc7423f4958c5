"""Escalation paths per kind (technical → engineering, billing dispute → finance, security incident →
security): each with one owner (an agent or a team), an expected response time and a message template;
and the record of every time one fired.

Templates use ``{placeholders}`` from :data:`PLACEHOLDERS` only; anything else is refused when saved,
so rendering can never fail or reach into an object's attributes.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

PLACEHOLDERS = ("conversation_id", "customer", "subject", "category", "urgency", "tier", "path", "respond_by",
                "link", "note")


@dataclass(frozen=True, slots=True)
class Path:
    id: int
    tenant_id: int
    kind: str
    name: str
    owner_agent_id: int | None
    owner_team_id: int | None
    response_minutes: int
    template: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name,
                "owner": {"agent_id": self.owner_agent_id} if self.owner_agent_id else {"team_id": self.owner_team_id},
                "response_minutes": self.response_minutes, "template": self.template}


def template_problem(template: str) -> str | None:
    """Why a template cannot be saved, or None."""
    try:
        parsed = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return f"not a valid template: {exc}"
    for name, spec, conv in parsed:
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}} (known: {', '.join(PLACEHOLDERS)})"
        if spec or conv:
            return "placeholders take no format spec or conversion"
    return None


def render(template: str, values: dict[str, Any]) -> str:
    return template.format_map({k: "" if values.get(k) is None else str(values[k]) for k in PLACEHOLDERS})


def _path(row: dict[str, Any]) -> Path:
    return Path(row["id"], row["tenant_id"], row["kind"], row["name"], row["owner_agent_id"], row["owner_team_id"],
                row["response_minutes"], row["template"])


async def list_all(conn: AsyncConnection[Any], tenant_id: int) -> list[Path]:
    cur = await conn.execute("SELECT * FROM escalation_paths WHERE tenant_id = %s ORDER BY kind", (tenant_id,))
    return [_path(r) for r in await cur.fetchall()]


async def get(conn: AsyncConnection[Any], tenant_id: int, path_id: int) -> Path | None:
    cur = await conn.execute("SELECT * FROM escalation_paths WHERE tenant_id = %s AND id = %s", (tenant_id, path_id))
    row = await cur.fetchone()
    return _path(row) if row else None


async def by_kind(conn: AsyncConnection[Any], tenant_id: int, kind: str) -> Path | None:
    cur = await conn.execute("SELECT * FROM escalation_paths WHERE tenant_id = %s AND kind = %s", (tenant_id, kind))
    row = await cur.fetchone()
    return _path(row) if row else None


COLUMNS = ("kind", "name", "owner_agent_id", "owner_team_id", "response_minutes", "template")


async def create(conn: AsyncConnection[Any], tenant_id: int, values: dict[str, Any]) -> Path:
    """Raises UniqueViolation for a taken kind, ForeignKeyViolation for an owner not of this tenant."""
    cur = await conn.execute(
        "INSERT INTO escalation_paths (tenant_id, kind, name, owner_agent_id, owner_team_id, response_minutes,"
        " template) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (tenant_id, *(values.get(c) for c in COLUMNS)))
    row = await cur.fetchone()
    assert row is not None
    return _path(row)


async def update(conn: AsyncConnection[Any], tenant_id: int, path_id: int, changes: dict[str, Any]) -> Path | None:
    cols = ", ".join(f"{k} = %s" for k in changes if k in COLUMNS)
    cur = await conn.execute(f"UPDATE escalation_paths SET {cols} WHERE tenant_id = %s AND id = %s RETURNING *",
                             (*(v for k, v in changes.items() if k in COLUMNS), tenant_id, path_id))
    row = await cur.fetchone()
    return _path(row) if row else None


async def delete(conn: AsyncConnection[Any], tenant_id: int, path_id: int) -> bool:
    cur = await conn.execute("DELETE FROM escalation_paths WHERE tenant_id = %s AND id = %s", (tenant_id, path_id))
    return cur.rowcount == 1


async def record(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, path: Path, *, actor: str,
                 message: str, now: datetime, dedupe_key: str) -> dict[str, Any] | None:
    """The new escalation, or None when this dedupe key already fired (the caller does nothing more)."""
    cur = await conn.execute(
        "INSERT INTO escalations (tenant_id, conversation_id, path_id, actor, message, respond_by, dedupe_key,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, dedupe_key) DO NOTHING"
        " RETURNING id, conversation_id, path_id, actor, message, respond_by, created_at",
        (tenant_id, conversation_id, path.id, actor, message, now + timedelta(minutes=path.response_minutes),
         dedupe_key, now))
    return await cur.fetchone()


async def for_conversation(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT e.id, p.kind, p.name, e.actor, e.message, e.respond_by, e.created_at FROM escalations e"
        " JOIN escalation_paths p ON p.tenant_id = e.tenant_id AND p.id = e.path_id"
        " WHERE e.tenant_id = %s AND e.conversation_id = %s ORDER BY e.id", (tenant_id, conversation_id))
    return list(await cur.fetchall())
