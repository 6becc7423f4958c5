"""The rows the overview report is computed from, for one tenant and one time window.

Kept as plain per-conversation rows (not pre-aggregated) because medians and percentiles need the
values; a window is at most a year of one tenant's conversations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

Rows = list[dict[str, Any]]


async def conversations(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> Rows:
    """Conversations created in the window, with whether they were handed off or had a human writing."""
    cur = await conn.execute(
        "SELECT c.id, c.status, c.category, c.urgency, c.last_channel, c.created_at, c.first_response_at,"
        " c.resolved_at, c.sla_first_response_due, c.sla_resolution_due, c.sla_paused_at,"
        " EXISTS (SELECT 1 FROM status_changes s WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.id"
        "   AND s.to_status = 'pending_agent') AS handed_off,"
        " EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
        "   AND m.author_kind = 'agent') AS human"
        " FROM conversations c WHERE c.tenant_id = %s AND c.created_at >= %s AND c.created_at <= %s ORDER BY c.id",
        (tenant_id, since, until))
    return list(await cur.fetchall())


async def csat_scores(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> dict[int, int]:
    """Answers given in the window, per score."""
    cur = await conn.execute(
        "SELECT score, count(*) AS n FROM csat_responses WHERE tenant_id = %s AND created_at >= %s"
        " AND created_at <= %s GROUP BY score", (tenant_id, since, until))
    return {int(r["score"]): int(r["n"]) for r in await cur.fetchall()}


async def suggestion_outcomes(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime
                              ) -> dict[str, int]:
    """Drafts offered in the window, per outcome ('pending' = not decided yet)."""
    cur = await conn.execute(
        "SELECT coalesce(outcome, 'pending') AS outcome, count(*) AS n FROM suggestions WHERE tenant_id = %s"
        " AND created_at >= %s AND created_at <= %s GROUP BY 1", (tenant_id, since, until))
    return {r["outcome"]: int(r["n"]) for r in await cur.fetchall()}


async def recorded_breaches(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> int:
    """Breaches the escalation ladder recorded in the window."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM sla_rungs WHERE tenant_id = %s AND rung = 100 AND NOT skipped"
        " AND fired_at >= %s AND fired_at <= %s", (tenant_id, since, until))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0
