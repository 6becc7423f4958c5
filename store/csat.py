"""CSAT surveys and answers: one survey and at most one answer per conversation (unique keys decide)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from store import webhooks


@dataclass(frozen=True, slots=True)
class Survey:
    conversation_id: int
    channel: str
    sent_at: datetime
    expires_at: datetime


async def claim_survey(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, channel: str,
                       now: datetime, expires_at: datetime) -> bool:
    """True for the one caller that gets to send this conversation's survey."""
    cur = await conn.execute(
        "INSERT INTO csat_surveys (tenant_id, conversation_id, channel, sent_at, expires_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING conversation_id",
        (tenant_id, conversation_id, channel, now, expires_at))
    return await cur.fetchone() is not None


async def attach_message(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, message_id: int) -> None:
    await conn.execute("UPDATE csat_surveys SET message_id = %s WHERE tenant_id = %s AND conversation_id = %s",
                       (message_id, tenant_id, conversation_id))


async def survey(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> Survey | None:
    cur = await conn.execute("SELECT * FROM csat_surveys WHERE tenant_id = %s AND conversation_id = %s",
                             (tenant_id, conversation_id))
    row = await cur.fetchone()
    return Survey(row["conversation_id"], row["channel"], row["sent_at"], row["expires_at"]) if row else None


async def due_for_survey(conn: AsyncConnection[Any], tenant_id: int, *, now: datetime, within_seconds: float,
                         include_auto_resolved: bool, limit: int = 200) -> list[dict[str, Any]]:
    """Resolved lately, never surveyed, not closed for inactivity; auto-resolved ones only if the tenant wants."""
    cur = await conn.execute(
        "SELECT c.id, c.last_channel FROM conversations c WHERE c.tenant_id = %s AND c.status IN ('resolved', 'closed')"
        " AND c.resolved_at > %s - make_interval(secs => %s) AND c.resolved_at <= %s"
        " AND NOT EXISTS (SELECT 1 FROM csat_surveys s WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.id)"
        " AND NOT EXISTS (SELECT 1 FROM status_changes sc WHERE sc.tenant_id = c.tenant_id AND sc.conversation_id = c.id"
        "   AND sc.actor = 'ops:inactivity')"
        " AND (%s OR EXISTS (SELECT 1 FROM status_changes h WHERE h.tenant_id = c.tenant_id AND h.conversation_id = c.id"
        "   AND h.to_status = 'pending_agent') OR EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = c.tenant_id"
        "   AND m.conversation_id = c.id AND m.author_kind = 'agent'))"
        " ORDER BY c.resolved_at LIMIT %s",
        (tenant_id, now, within_seconds, now, include_auto_resolved, limit))
    return list(await cur.fetchall())


async def record_answer(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, score: int,
                        comment: str | None, channel: str, actor: str, now: datetime) -> bool:
    """True if this was the conversation's first answer; a second answer is ignored (one per conversation)."""
    if not 1 <= score <= 5:
        raise ValueError("score must be 1–5")
    cur = await conn.execute(
        "INSERT INTO csat_responses (tenant_id, conversation_id, score, comment, channel, actor, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, conversation_id) DO NOTHING RETURNING id",
        (tenant_id, conversation_id, score, (comment or None) and comment[:2000], channel, actor, now))
    if await cur.fetchone() is None:
        return False
    await webhooks.emit(conn, tenant_id, "csat.received", {"conversation_id": conversation_id, "score": score,
                                                           "comment": (comment or None) and comment[:2000],
                                                           "channel": channel})
    return True


async def answer(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM csat_responses WHERE tenant_id = %s AND conversation_id = %s",
                             (tenant_id, conversation_id))
    return await cur.fetchone()
