"""Weekly digests for managers: the figures as computed and the chart images rendered from them.

Stored rather than recomputed on view so the page and the email show the same numbers, and a
digest read next month still says what last week looked like.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

# The on-demand job kind: the console queues it, the gateway's worker generates (the console cannot
# import the gateway, and rendering charts is a worker's job anyway). Payload: {"email": bool}.
DIGEST = "digest"
MAX_CHART_BYTES = 2_000_000  # the schema's limit; a weekly chart is tens of kilobytes


@dataclass(frozen=True, slots=True)
class Digest:
    id: int
    tenant_id: int
    period_start: datetime
    period_end: datetime
    trigger: str
    figures: dict[str, Any]
    created_at: datetime
    charts: tuple[str, ...] = ()  # names, in display order


def _digest(row: dict[str, Any]) -> Digest:
    return Digest(row["id"], row["tenant_id"], row["period_start"], row["period_end"], row["trigger"],
                  row["figures"], row["created_at"], tuple(row.get("charts") or ()))


async def save(conn: AsyncConnection[Any], tenant_id: int, *, period_start: datetime, period_end: datetime,
               trigger: str, figures: dict[str, Any], charts: dict[str, bytes]) -> int:
    cur = await conn.execute(
        "INSERT INTO digests (tenant_id, period_start, period_end, trigger, figures) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING id", (tenant_id, period_start, period_end, trigger, json.dumps(figures)))
    row = await cur.fetchone()
    assert row is not None
    for name, png in charts.items():
        await conn.execute("INSERT INTO digest_charts (tenant_id, digest_id, name, png) VALUES (%s, %s, %s, %s)",
                           (tenant_id, row["id"], name, png))
    return int(row["id"])


_WITH_CHARTS = ("SELECT d.*, ARRAY(SELECT name FROM digest_charts c WHERE c.tenant_id = d.tenant_id"
                " AND c.digest_id = d.id ORDER BY name) AS charts FROM digests d")


async def get(conn: AsyncConnection[Any], tenant_id: int, digest_id: int) -> Digest | None:
    cur = await conn.execute(f"{_WITH_CHARTS} WHERE d.tenant_id = %s AND d.id = %s", (tenant_id, digest_id))
    row = await cur.fetchone()
    return _digest(row) if row else None


async def recent(conn: AsyncConnection[Any], tenant_id: int, *, limit: int = 20) -> list[Digest]:
    cur = await conn.execute(f"{_WITH_CHARTS} WHERE d.tenant_id = %s ORDER BY d.id DESC LIMIT %s",
                             (tenant_id, limit))
    return [_digest(r) for r in await cur.fetchall()]


async def last_scheduled_end(conn: AsyncConnection[Any], tenant_id: int) -> datetime | None:
    cur = await conn.execute("SELECT max(period_end) AS at FROM digests WHERE tenant_id = %s AND trigger = 'schedule'",
                             (tenant_id,))
    row = await cur.fetchone()
    return row["at"] if row else None


async def chart(conn: AsyncConnection[Any], tenant_id: int, digest_id: int, name: str) -> bytes | None:
    cur = await conn.execute("SELECT png FROM digest_charts WHERE tenant_id = %s AND digest_id = %s AND name = %s",
                             (tenant_id, digest_id, name))
    row = await cur.fetchone()
    return bytes(row["png"]) if row else None


async def charts(conn: AsyncConnection[Any], tenant_id: int, digest_id: int) -> dict[str, bytes]:
    cur = await conn.execute("SELECT name, png FROM digest_charts WHERE tenant_id = %s AND digest_id = %s"
                             " ORDER BY name", (tenant_id, digest_id))
    return {r["name"]: bytes(r["png"]) for r in await cur.fetchall()}


async def weekly(conn: AsyncConnection[Any], tenant_id: int, until: datetime, weeks: int) -> list[dict[str, Any]]:
    """Per 7-day window ending at ``until`` (oldest first): conversations created, auto-resolved
    (resolved or closed, never handed off, no agent wrote; the KPI definition), CSAT answers and
    suggestion outcomes. Windows are half-open, ``[end - 7 days, end)``."""
    params = {"t": tenant_id, "until": until, "weeks": weeks}
    # Age in (0, 7 days] is window 0: a row at exactly ``end - 7 days`` belongs to the window ending at ``end``.
    bucket = "ceil(extract(epoch FROM %(until)s::timestamptz - {col}) / 604800)::int - 1"
    window = "{col} < %(until)s AND {col} >= %(until)s::timestamptz - make_interval(days => 7 * %(weeks)s)"
    out = [{"conversations": 0, "auto_resolved": 0, "handed_off": 0, "csat_answers": 0, "csat_sum": 0,
            "accepted": 0, "edited": 0, "discarded": 0} for _ in range(weeks)]
    c = "c.created_at"
    cur = await conn.execute(
        f"SELECT {bucket.format(col=c)} AS w, count(*) AS conversations,"
        " count(*) FILTER (WHERE c.status IN ('resolved', 'closed') AND NOT h.handed AND NOT h.human) AS auto_resolved,"
        " count(*) FILTER (WHERE h.handed) AS handed_off"
        " FROM conversations c CROSS JOIN LATERAL (SELECT"
        "  EXISTS (SELECT 1 FROM status_changes s WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.id"
        "    AND s.to_status = 'pending_agent') AS handed,"
        "  EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
        "    AND m.author_kind = 'agent') AS human) h"
        f" WHERE c.tenant_id = %(t)s AND {window.format(col=c)} GROUP BY 1", params)
    for r in await cur.fetchall():
        out[r["w"]].update(conversations=int(r["conversations"]), auto_resolved=int(r["auto_resolved"]),
                           handed_off=int(r["handed_off"]))
    cur = await conn.execute(
        f"SELECT {bucket.format(col='created_at')} AS w, count(*) AS n, sum(score) AS total FROM csat_responses"
        f" WHERE tenant_id = %(t)s AND {window.format(col='created_at')} GROUP BY 1", params)
    for r in await cur.fetchall():
        out[r["w"]].update(csat_answers=int(r["n"]), csat_sum=int(r["total"]))
    cur = await conn.execute(
        f"SELECT {bucket.format(col='created_at')} AS w, outcome, count(*) AS n FROM suggestions"
        f" WHERE tenant_id = %(t)s AND outcome IS NOT NULL AND {window.format(col='created_at')} GROUP BY 1, 2", params)
    for r in await cur.fetchall():
        out[r["w"]][r["outcome"]] = int(r["n"])
    return out[::-1]


async def categories(conn: AsyncConnection[Any], tenant_id: int, until: datetime) -> dict[str, tuple[int, int]]:
    """category → (conversations created in the 7 days before ``until``, in the 7 days before that)."""
    cur = await conn.execute(
        "SELECT coalesce(category, 'uncategorised') AS category,"
        " count(*) FILTER (WHERE created_at >= %(until)s::timestamptz - interval '7 days') AS this_week,"
        " count(*) FILTER (WHERE created_at < %(until)s::timestamptz - interval '7 days') AS last_week"
        " FROM conversations WHERE tenant_id = %(t)s AND created_at < %(until)s"
        " AND created_at >= %(until)s::timestamptz - interval '14 days' GROUP BY 1",
        {"t": tenant_id, "until": until})
    return {r["category"]: (int(r["this_week"]), int(r["last_week"])) for r in await cur.fetchall()}
