"""Audit events: who did what to which record, kept for admins and for undo."""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection


async def record(
    conn: AsyncConnection[Any],
    tenant_id: int,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_events (tenant_id, actor, action, subject_type, subject_id, details)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (tenant_id, actor, action, subject_type, subject_id, json.dumps(details or {}, default=str)),
    )


async def list_for(
    conn: AsyncConnection[Any], tenant_id: int, subject_type: str, subject_id: int
) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT actor, action, details, created_at FROM audit_events"
        " WHERE tenant_id = %s AND subject_type = %s AND subject_id = %s ORDER BY id",
        (tenant_id, subject_type, subject_id),
    )
    return list(await cur.fetchall())
