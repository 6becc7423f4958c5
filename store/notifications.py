"""Notifications to agents (SLA warnings, escalations, reassignments): the console's unread list.

A dedupe key per agent makes "notify" idempotent, so a retried job never tells anyone twice.
An insert also fires pg_notify('sb_notifications', 'tenant:agent:id') for a live relay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    tenant_id: int
    agent_id: int
    kind: str
    conversation_id: int | None
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


def _notification(row: dict[str, Any]) -> Notification:
    return Notification(row["id"], row["tenant_id"], row["agent_id"], row["kind"], row["conversation_id"],
                        row["title"], row["body"], row["created_at"], row["read_at"])


async def create(conn: AsyncConnection[Any], tenant_id: int, agent_id: int, *, kind: str, title: str, body: str,
                 dedupe_key: str, now: datetime, conversation_id: int | None = None) -> Notification | None:
    """The new notification, or None when this agent was already told (same dedupe key)."""
    cur = await conn.execute(
        "INSERT INTO agent_notifications (tenant_id, agent_id, kind, conversation_id, title, body, dedupe_key, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, agent_id, dedupe_key) DO NOTHING RETURNING *",
        (tenant_id, agent_id, kind, conversation_id, title[:300], body[:4000], dedupe_key, now))
    row = await cur.fetchone()
    return _notification(row) if row else None


async def list_for(conn: AsyncConnection[Any], tenant_id: int, agent_id: int, *, unread_only: bool = False,
                   limit: int = 50) -> list[Notification]:
    cur = await conn.execute(
        "SELECT * FROM agent_notifications WHERE tenant_id = %s AND agent_id = %s AND (NOT %s OR read_at IS NULL)"
        " ORDER BY id DESC LIMIT %s", (tenant_id, agent_id, unread_only, limit))
    return [_notification(r) for r in await cur.fetchall()]


async def mark_read(conn: AsyncConnection[Any], tenant_id: int, agent_id: int, ids: list[int], *, now: datetime) -> int:
    cur = await conn.execute(
        "UPDATE agent_notifications SET read_at = %s WHERE tenant_id = %s AND agent_id = %s AND id = ANY(%s)"
        " AND read_at IS NULL", (now, tenant_id, agent_id, ids))
    return cur.rowcount


async def for_conversation(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[Notification]:
    cur = await conn.execute(
        "SELECT * FROM agent_notifications WHERE tenant_id = %s AND conversation_id = %s ORDER BY id",
        (tenant_id, conversation_id))
    return [_notification(r) for r in await cur.fetchall()]
