"""Edits and deletions of inbound messages, made by the customer on their side (Slack edits and deletes).

The stored text follows the customer's latest wording, because that is what agents and the AI must
answer; every earlier wording is kept in ``raw["edits"]`` and an audit event, so nothing said is lost.
A deletion marks the row (``deleted_at``) instead of removing it, for the same reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from store import audit
from store.models import Channel


async def apply_edit(conn: AsyncConnection[Any], tenant_id: int, channel: Channel, external_id: str, text: str, *,
                     edited_at: datetime, actor: str) -> int | None:
    """The message id that changed, or None (unknown message, deleted, or the same text: nothing to do)."""
    cur = await conn.execute(
        "UPDATE messages SET text = %s, edited_at = %s,"
        " raw = jsonb_set(raw, '{edits}', coalesce(raw->'edits', '[]'::jsonb)"
        "   || jsonb_build_array(jsonb_build_object('previous_text', text, 'replaced_at', %s::text)))"
        " WHERE tenant_id = %s AND channel = %s AND external_id = %s AND deleted_at IS NULL AND text <> %s"
        " RETURNING id, conversation_id",
        (text, edited_at, edited_at.isoformat(), tenant_id, channel.value, external_id, text),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    await audit.record(conn, tenant_id, actor=actor, action="message.edited", subject_type="message",
                       subject_id=row["id"], details={"conversation_id": row["conversation_id"]})
    return int(row["id"])


async def mark_deleted(conn: AsyncConnection[Any], tenant_id: int, channel: Channel, external_id: str, *,
                       deleted_at: datetime, actor: str) -> int | None:
    """The message id marked deleted, or None (unknown or already deleted)."""
    cur = await conn.execute(
        "UPDATE messages SET deleted_at = %s WHERE tenant_id = %s AND channel = %s AND external_id = %s"
        " AND deleted_at IS NULL RETURNING id, conversation_id",
        (deleted_at, tenant_id, channel.value, external_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    await audit.record(conn, tenant_id, actor=actor, action="message.deleted", subject_type="message",
                       subject_id=row["id"], details={"conversation_id": row["conversation_id"]})
    return int(row["id"])
