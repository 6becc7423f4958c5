"""SLA policies per urgency × tier (the defaults are the seeds' numbers, in minutes), pause intervals,
the escalation ladder's fired rungs and due times: what the SLA clock reads and writes.

Rung rows carry a unique key, so "fires once per target" holds even with two tick runners at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

DEFAULT_POLICIES = {  # urgency: (first response, resolution)
    "critical": (30, 240),
    "high": (60, 480),
    "medium": (240, 1440),
    "low": (480, 2880),
}


async def seed_defaults(conn: AsyncConnection[Any], tenant_id: int, tier: str = "standard") -> None:
    for urgency, (first, resolution) in DEFAULT_POLICIES.items():
        await conn.execute(
            "INSERT INTO sla_policies (tenant_id, urgency, tier, first_response_minutes, resolution_minutes)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, urgency, tier) DO NOTHING",
            (tenant_id, urgency, tier, first, resolution),
        )


async def policies(conn: AsyncConnection[Any], tenant_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT * FROM sla_policies WHERE tenant_id = %s ORDER BY first_response_minutes", (tenant_id,))
    return list(await cur.fetchall())


URGENCY_ALIASES = {"urgent": "critical"}  # the issue's word for the seeds' top urgency
DEFAULT_URGENCY = "medium"  # before the classifier has spoken
DEFAULT_TIER = "standard"
ANY_URGENCY = "any"  # a tier-wide policy row: applies to every urgency of that tier
TARGETS = ("first_response", "resolution")
RUNGS = (75, 90, 100)


@dataclass(frozen=True, slots=True)
class Policy:
    urgency: str
    tier: str
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool


@dataclass(frozen=True, slots=True)
class SlaSubject:
    """What the SLA clock needs to know about one conversation."""

    id: int
    status: str
    urgency: str
    tier: str
    assignee_id: int | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    sla_paused_at: datetime | None
    sla_first_response_due: datetime | None
    sla_resolution_due: datetime | None
    last_channel: str


def normalize_urgency(urgency: str | None) -> str:
    u = (urgency or DEFAULT_URGENCY).strip().lower()
    return URGENCY_ALIASES.get(u, u)


async def set_policy(conn: AsyncConnection[Any], tenant_id: int, urgency: str, *, tier: str = DEFAULT_TIER,
                     first_response_minutes: int, resolution_minutes: int, business_hours: bool = False) -> None:
    await conn.execute(
        "INSERT INTO sla_policies (tenant_id, urgency, tier, first_response_minutes, resolution_minutes, business_hours)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, urgency, tier) DO UPDATE SET"
        " first_response_minutes = excluded.first_response_minutes, resolution_minutes = excluded.resolution_minutes,"
        " business_hours = excluded.business_hours",
        (tenant_id, normalize_urgency(urgency), tier, first_response_minutes, resolution_minutes, business_hours),
    )


async def policy_for(conn: AsyncConnection[Any], tenant_id: int, urgency: str | None, tier: str | None) -> Policy:
    """The tenant's policy for urgency × tier wins; then the tier's ``any``-urgency policy; then the urgency's
    'standard' policy; then the seeds' numbers (24/7).

    A tier-wide (``any``) policy is a promise to that plan's customers ("1-hour first response"), so it
    tightens the urgency's own targets and never loosens them: each target is the shorter of the two.
    """
    u, t = normalize_urgency(urgency), tier or DEFAULT_TIER
    cur = await conn.execute(
        "SELECT * FROM sla_policies WHERE tenant_id = %s AND urgency IN (%s, %s) AND tier IN (%s, %s)",
        (tenant_id, u, ANY_URGENCY, t, DEFAULT_TIER))
    found = {(r["urgency"], r["tier"]): r for r in await cur.fetchall()}
    exact, tier_wide, base = found.get((u, t)), found.get((ANY_URGENCY, t)), found.get((u, DEFAULT_TIER))
    if exact:
        return Policy(u, t, exact["first_response_minutes"], exact["resolution_minutes"], exact["business_hours"])
    if base:
        fallback = Policy(u, DEFAULT_TIER, base["first_response_minutes"], base["resolution_minutes"],
                          base["business_hours"])
    else:
        first, resolution = DEFAULT_POLICIES.get(u, DEFAULT_POLICIES[DEFAULT_URGENCY])
        fallback = Policy(u, DEFAULT_TIER, first, resolution, False)
    if tier_wide:
        return Policy(u, t, min(tier_wide["first_response_minutes"], fallback.first_response_minutes),
                      min(tier_wide["resolution_minutes"], fallback.resolution_minutes), tier_wide["business_hours"])
    return fallback


_SUBJECT_SQL = (
    "SELECT c.id, c.status, c.urgency, coalesce(root.plan_tier, cu.plan_tier, 'standard') AS tier, c.assignee_id,"
    " c.created_at, c.first_response_at, c.resolved_at, c.sla_paused_at, c.sla_first_response_due,"
    " c.sla_resolution_due, c.last_channel"
    " FROM conversations c JOIN customers cu ON cu.tenant_id = c.tenant_id AND cu.id = c.customer_id"
    # A customer merged into another is served at its target's tier.
    " LEFT JOIN customers root ON root.tenant_id = cu.tenant_id AND root.id = cu.merged_into"
)


def _subject(row: dict[str, Any]) -> SlaSubject:
    return SlaSubject(row["id"], row["status"], normalize_urgency(row["urgency"]), row["tier"], row["assignee_id"],
                      row["created_at"], row["first_response_at"], row["resolved_at"], row["sla_paused_at"],
                      row["sla_first_response_due"], row["sla_resolution_due"], row["last_channel"])


async def clock_subjects(conn: AsyncConnection[Any], tenant_id: int, *, now: datetime,
                         recent_seconds: float = 86400, limit: int = 5000) -> list[SlaSubject]:
    """Open conversations, plus recently touched ones whose due times may still be unset."""
    cur = await conn.execute(
        _SUBJECT_SQL + " WHERE c.tenant_id = %s AND (c.status NOT IN ('resolved', 'closed')"
        "   OR c.updated_at > %s - make_interval(secs => %s)) ORDER BY c.id LIMIT %s",
        (tenant_id, now, recent_seconds, limit))
    return [_subject(r) for r in await cur.fetchall()]


async def clock_subject(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> SlaSubject | None:
    cur = await conn.execute(_SUBJECT_SQL + " WHERE c.tenant_id = %s AND c.id = %s", (tenant_id, conversation_id))
    row = await cur.fetchone()
    return _subject(row) if row else None


async def pauses(conn: AsyncConnection[Any], tenant_id: int, conversation_ids: list[int]
                 ) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Waiting-on-customer intervals per conversation (ended_at None: still waiting)."""
    cur = await conn.execute(
        "SELECT conversation_id, started_at, ended_at FROM sla_pauses WHERE tenant_id = %s AND conversation_id = ANY(%s)"
        " ORDER BY started_at", (tenant_id, conversation_ids))
    out: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for r in await cur.fetchall():
        out.setdefault(int(r["conversation_id"]), []).append((r["started_at"], r["ended_at"]))
    return out


async def set_dues(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *,
                   first_response_due: datetime, resolution_due: datetime) -> None:
    """Writes the due times only when they moved (every write wakes the console through a trigger)."""
    await conn.execute(
        "UPDATE conversations SET sla_first_response_due = %s, sla_resolution_due = %s WHERE tenant_id = %s AND id = %s"
        " AND (sla_first_response_due IS DISTINCT FROM %s OR sla_resolution_due IS DISTINCT FROM %s)",
        (first_response_due, resolution_due, tenant_id, conversation_id, first_response_due, resolution_due))


async def record_rung(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, target: str, rung: int,
                      due_at: datetime, elapsed_ratio: float, now: datetime, skipped: bool = False,
                      details: dict[str, Any] | None = None) -> bool:
    """True only for the one caller that recorded this rung first (the unique key arbitrates)."""
    cur = await conn.execute(
        "INSERT INTO sla_rungs (tenant_id, conversation_id, target, rung, due_at, elapsed_ratio, skipped, details,"
        " fired_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, conversation_id, target, rung) DO NOTHING RETURNING id",
        (tenant_id, conversation_id, target, rung, due_at, elapsed_ratio, skipped, json.dumps(details or {}), now))
    return await cur.fetchone() is not None


async def fired_rungs(conn: AsyncConnection[Any], tenant_id: int, conversation_ids: list[int]
                      ) -> dict[int, set[tuple[str, int]]]:
    cur = await conn.execute(
        "SELECT conversation_id, target, rung FROM sla_rungs WHERE tenant_id = %s AND conversation_id = ANY(%s)",
        (tenant_id, conversation_ids))
    out: dict[int, set[tuple[str, int]]] = {}
    for r in await cur.fetchall():
        out.setdefault(int(r["conversation_id"]), set()).add((r["target"], int(r["rung"])))
    return out


async def rungs_for(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT target, rung, skipped, due_at, elapsed_ratio, details, fired_at FROM sla_rungs"
        " WHERE tenant_id = %s AND conversation_id = %s ORDER BY target, rung", (tenant_id, conversation_id))
    return list(await cur.fetchall())


async def bump_queue(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, priority: int, *,
                     escalate_at: datetime | None = None) -> None:
    """Raises (never lowers) the conversation's place in the queue; marks it escalated when asked."""
    await conn.execute(
        "UPDATE conversations SET queue_priority = greatest(queue_priority, %s),"
        " escalated_at = coalesce(escalated_at, %s) WHERE tenant_id = %s AND id = %s",
        (priority, escalate_at, tenant_id, conversation_id))


TICK_LOCK = 0x534C4154  # "SLAT"; the second key is the tenant id


async def try_tick_lock(conn: AsyncConnection[Any], tenant_id: int) -> bool:
    """A session lock for one tenant's tick: a second runner arriving meanwhile skips instead of repeating."""
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s::int) AS ok", (TICK_LOCK, tenant_id))
    row = await cur.fetchone()
    return bool(row and row["ok"])


async def tick_unlock(conn: AsyncConnection[Any], tenant_id: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock(%s, %s::int)", (TICK_LOCK, tenant_id))
