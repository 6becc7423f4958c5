"""Business KPIs read from the store, so they survive restarts and every process reports the same numbers.

Each query takes ``tenant_id``; ``None`` is allowed only through :func:`snapshot`, the one cross-tenant
aggregate (for the metrics collector), which groups every query BY tenant. Queries are single
aggregate scans meant to run every few seconds at most (callers cache them).

Definitions (the README's "Dashboards for managers" repeats them):

* SLA target met: the first response (resolution) happened before its due time, where the due time
  is shifted by the time the conversation spent waiting on the customer (clocks pause there).
  Breached: it happened after the due time, or has not happened and the due time has passed.
* Auto-resolved: resolved or closed, never handed off, no human agent wrote in it.
* Handed off: it went to ``pending_agent`` at least once.
* CSAT: the ``csat_responses`` rows (score 1–5, one per conversation), by the channel it was answered on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql

WINDOW_DAYS = 7  # the window of the *_ratio and *_average KPIs
URGENCIES = ("critical", "high", "medium", "low", "unset")
DECISIONS = ("answer", "suggest", "clarify", "handoff", "resolved", "silent")
SAFETY_ACTIONS = ("critical", "handoff")
CLASSIFIED_FIELDS = ("category", "urgency", "sentiment", "language", "complexity")
SLA_TARGETS = ("first_response", "resolution")
CSAT_SCORES = (1, 2, 3, 4, 5)
SUGGESTION_OUTCOMES = ("accepted", "edited", "discarded")
DURATION_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0)
OPEN_STATUSES = ("new", "ai_active", "waiting_customer", "pending_agent", "assigned")


@dataclass
class Histogram:
    """Cumulative bucket counts (same order as the bucket bounds), count and sum."""

    buckets: list[int]
    count: int = 0
    total: float = 0.0


@dataclass
class TenantKpis:
    slug: str
    open_by_urgency: dict[str, int] = field(default_factory=lambda: dict.fromkeys(URGENCIES, 0))
    # (target, outcome) → conversations, all time; outcome in met/breached/pending
    sla_outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    sla_compliance: dict[str, float] = field(default_factory=dict)  # target → ratio over WINDOW_DAYS
    conversations: int = 0
    auto_resolved: int = 0
    handed_off: int = 0
    auto_resolution_ratio: float | None = None
    handoff_ratio: float | None = None
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DECISIONS, 0))
    safety_firings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SAFETY_ACTIONS, 0))
    classifications: int = 0
    overrides: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSIFIED_FIELDS, 0))
    suggestions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUGGESTION_OUTCOMES, 0))
    override_ratio: float | None = None
    csat: dict[str, Histogram] = field(default_factory=dict)  # channel → score histogram (all time)
    csat_average: dict[str, float] = field(default_factory=dict)  # channel → mean over WINDOW_DAYS
    first_response: dict[str, Histogram] = field(default_factory=dict)  # channel → seconds
    resolution: dict[str, Histogram] = field(default_factory=dict)
    outbox_backlog: dict[str, int] = field(default_factory=dict)  # channel → pending rows
    outbox_oldest_seconds: dict[str, float] = field(default_factory=dict)


Rows = list[dict[str, Any]]
WINDOW = sql.SQL("now() - make_interval(days => {})").format(sql.Literal(WINDOW_DAYS))


async def _rows(conn: AsyncConnection[Any], query: sql.Composable, tenant_id: int | None) -> Rows:
    cur = await conn.execute(query, {"tenant_id": tenant_id})
    return list(await cur.fetchall())


TENANT_FILTER = sql.SQL("(%(tenant_id)s::bigint IS NULL OR {col} = %(tenant_id)s::bigint)")


def _where(col: str = "tenant_id") -> sql.Composed:
    return TENANT_FILTER.format(col=sql.Identifier(*col.split(".")))


async def open_by_urgency(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    q = sql.SQL("SELECT tenant_id, coalesce(urgency, 'unset') AS urgency, count(*) AS n FROM conversations"
                " WHERE status = ANY(%(open)s) AND {} GROUP BY 1, 2").format(_where())
    cur = await conn.execute(q, {"tenant_id": tenant_id, "open": list(OPEN_STATUSES)})
    return list(await cur.fetchall())


# The stored due times already include closed pauses (gateway.ops.sla_clock rewrites them); while a
# conversation waits on the customer its due time is frozen, so only the open pause is added here.
_EFFECTIVE = "make_interval(secs => coalesce(extract(epoch FROM now() - sla_paused_at)::double precision, 0))"


async def sla_outcomes(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    """Per tenant: met / breached / pending counts per target, all time and over the window."""
    parts = []
    for target, done_col, due_col in (("first_response", "first_response_at", "sla_first_response_due"),
                                      ("resolution", "resolved_at", "sla_resolution_due")):
        done = sql.Identifier(done_col)
        due = sql.SQL("{} + CASE WHEN {} IS NULL THEN " + _EFFECTIVE + " ELSE interval '0' END").format(
            sql.Identifier(due_col), done)
        met = sql.SQL("{done} <= {due}").format(done=done, due=due)
        breached = sql.SQL("({done} > {due} OR ({done} IS NULL AND now() > {due}))").format(done=done, due=due)
        pending = sql.SQL("({done} IS NULL AND now() <= {due})").format(done=done, due=due)
        recent = sql.SQL("created_at > {}").format(WINDOW)
        for name, cond in (("met", met), ("breached", breached), ("pending", pending)):
            parts.append(sql.SQL("count(*) FILTER (WHERE {c}) AS {a}").format(
                c=cond, a=sql.Identifier(f"{target}:{name}")))
            parts.append(sql.SQL("count(*) FILTER (WHERE {c} AND {r}) AS {a}").format(
                c=cond, r=recent, a=sql.Identifier(f"{target}:{name}:recent")))
    q = sql.SQL("SELECT tenant_id, {} FROM conversations WHERE {} GROUP BY 1").format(sql.SQL(", ").join(parts), _where())
    return await _rows(conn, q, tenant_id)


async def conversation_outcomes(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    """Per tenant: conversations, auto-resolved and handed off, all time and over the window."""
    q = sql.SQL("""
        WITH handed AS (SELECT DISTINCT conversation_id FROM status_changes WHERE to_status = 'pending_agent' AND {w}),
             human AS (SELECT DISTINCT conversation_id FROM messages WHERE author_kind = 'agent' AND {w}),
             c AS (SELECT tenant_id, created_at > {window} AS recent,
                          id IN (SELECT conversation_id FROM handed) AS handed_off,
                          status IN ('resolved', 'closed') AND id NOT IN (SELECT conversation_id FROM handed)
                            AND id NOT IN (SELECT conversation_id FROM human) AS auto_resolved
                   FROM conversations WHERE {w})
        SELECT tenant_id, count(*) AS conversations, count(*) FILTER (WHERE auto_resolved) AS auto_resolved,
               count(*) FILTER (WHERE handed_off) AS handed_off, count(*) FILTER (WHERE recent) AS recent,
               count(*) FILTER (WHERE recent AND auto_resolved) AS recent_auto_resolved,
               count(*) FILTER (WHERE recent AND handed_off) AS recent_handed_off
        FROM c GROUP BY 1""").format(w=_where(), window=WINDOW)
    return await _rows(conn, q, tenant_id)


async def agent_decisions(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    q = sql.SQL("SELECT tenant_id, decision, count(*) AS n FROM agent_runs WHERE {} GROUP BY 1, 2").format(_where())
    return await _rows(conn, q, tenant_id)


async def safety_firings(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    q = sql.SQL("SELECT tenant_id, action, count(*) AS n FROM safety_firings WHERE {} GROUP BY 1, 2").format(_where())
    return await _rows(conn, q, tenant_id)


async def classifications(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    """Per tenant: classified messages (all time, window); overrides come per field from :func:`overrides`."""
    q = sql.SQL("SELECT tenant_id, count(*) AS n, count(*) FILTER (WHERE created_at > {}) AS recent"
                " FROM message_classifications WHERE {} GROUP BY 1").format(WINDOW, _where())
    return await _rows(conn, q, tenant_id)


async def overrides(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    q = sql.SQL("SELECT tenant_id, field, count(*) AS n, count(*) FILTER (WHERE created_at > {}) AS recent"
                " FROM classification_overrides WHERE {} GROUP BY 1, 2").format(WINDOW, _where())
    return await _rows(conn, q, tenant_id)


async def suggestion_outcomes(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    """What agents did with AI drafts (the adoption KPI), all time; undecided drafts are not counted."""
    q = sql.SQL("SELECT tenant_id, outcome, count(*) AS n FROM suggestions WHERE outcome IS NOT NULL AND {}"
                " GROUP BY 1, 2").format(_where())
    return await _rows(conn, q, tenant_id)


async def csat(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    """Per tenant, channel and score: answers all time and over the window (one per conversation)."""
    q = sql.SQL("""
        SELECT tenant_id, channel, score, count(*) AS n, count(*) FILTER (WHERE created_at > {window}) AS recent
        FROM csat_responses WHERE {w}
        GROUP BY 1, 2, 3""").format(window=WINDOW, w=_where())
    return await _rows(conn, q, tenant_id)


async def durations(conn: AsyncConnection[Any], tenant_id: int | None, until_col: str) -> Rows:
    """Per tenant and channel: a histogram of ``until_col - created_at`` in seconds (all time)."""
    assert until_col in ("first_response_at", "resolved_at")
    buckets = [sql.SQL("count(*) FILTER (WHERE secs <= {}) AS {}").format(sql.Literal(b), sql.Identifier(f"le:{i}"))
               for i, b in enumerate(DURATION_BUCKETS)]
    q = sql.SQL("SELECT tenant_id, last_channel AS channel, {}, count(*) AS n, coalesce(sum(secs), 0) AS total FROM"
                " (SELECT tenant_id, last_channel, greatest(0, extract(epoch FROM {} - created_at))::double precision"
                "  AS secs FROM conversations WHERE {} IS NOT NULL AND {}) d GROUP BY 1, 2").format(
        sql.SQL(", ").join(buckets), sql.Identifier(until_col), sql.Identifier(until_col), _where())
    return await _rows(conn, q, tenant_id)


async def outbox_backlog(conn: AsyncConnection[Any], tenant_id: int | None) -> Rows:
    q = sql.SQL("SELECT tenant_id, channel, count(*) AS n,"
                " coalesce(extract(epoch FROM now() - min(created_at)), 0)::double precision AS oldest"
                " FROM outbox WHERE status = 'pending' AND {} GROUP BY 1, 2").format(_where())
    return await _rows(conn, q, tenant_id)


async def tenant_slugs(conn: AsyncConnection[Any], tenant_id: int | None) -> dict[int, str]:
    q = sql.SQL("SELECT id, slug FROM tenants WHERE {}").format(_where("id"))
    return {int(r["id"]): r["slug"] for r in await _rows(conn, q, tenant_id)}


async def delivery_context(conn: AsyncConnection[Any], tenant_id: int, answers_message_id: int | None
                           ) -> tuple[str, datetime | None]:
    """The tenant's slug (a metric label) and when the answered customer message arrived, in one query."""
    cur = await conn.execute(
        "SELECT t.slug, m.created_at FROM tenants t LEFT JOIN messages m ON m.tenant_id = t.id AND m.id = %s"
        " WHERE t.id = %s", (answers_message_id, tenant_id))
    row = await cur.fetchone()
    return (row["slug"], row["created_at"]) if row else ("unknown", None)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _histogram(row: dict[str, Any]) -> Histogram:
    return Histogram([int(row[f"le:{i}"]) for i in range(len(DURATION_BUCKETS))], int(row["n"]), float(row["total"]))


async def summary(conn: AsyncConnection[Any], tenant_id: int) -> TenantKpis | None:
    """One tenant's KPIs (for APIs and digests)."""
    return (await _collect(conn, tenant_id)).get(tenant_id)


async def snapshot(conn: AsyncConnection[Any]) -> dict[int, TenantKpis]:
    """Every tenant's KPIs, grouped by tenant: the one cross-tenant read (the metrics collector's)."""
    return await _collect(conn, None)


async def _collect(conn: AsyncConnection[Any], tenant_id: int | None) -> dict[int, TenantKpis]:
    out = {tid: TenantKpis(slug) for tid, slug in (await tenant_slugs(conn, tenant_id)).items()}

    def of(row: dict[str, Any]) -> TenantKpis | None:
        return out.get(int(row["tenant_id"]))

    for r in await open_by_urgency(conn, tenant_id):
        if k := of(r):
            urgency = r["urgency"] if r["urgency"] in URGENCIES else "unset"
            k.open_by_urgency[urgency] += int(r["n"])
    for r in await sla_outcomes(conn, tenant_id):
        if k := of(r):
            for target in SLA_TARGETS:
                for outcome in ("met", "breached", "pending"):
                    k.sla_outcomes[(target, outcome)] = int(r[f"{target}:{outcome}"])
                met, breached = int(r[f"{target}:met:recent"]), int(r[f"{target}:breached:recent"])
                if (ratio := _ratio(met, met + breached)) is not None:
                    k.sla_compliance[target] = ratio
    for r in await conversation_outcomes(conn, tenant_id):
        if k := of(r):
            k.conversations, k.auto_resolved, k.handed_off = int(r["conversations"]), int(r["auto_resolved"]), int(
                r["handed_off"])
            k.auto_resolution_ratio = _ratio(int(r["recent_auto_resolved"]), int(r["recent"]))
            k.handoff_ratio = _ratio(int(r["recent_handed_off"]), int(r["recent"]))
    for r in await agent_decisions(conn, tenant_id):
        if k := of(r):
            name = r["decision"] if r["decision"] in DECISIONS else "silent"
            k.decisions[name] += int(r["n"])
    for r in await safety_firings(conn, tenant_id):
        if (k := of(r)) and r["action"] in SAFETY_ACTIONS:
            k.safety_firings[r["action"]] += int(r["n"])
    recent_classified: dict[int, int] = {}
    for r in await classifications(conn, tenant_id):
        if k := of(r):
            k.classifications = int(r["n"])
            recent_classified[int(r["tenant_id"])] = int(r["recent"])
    recent_overrides: dict[int, int] = {}
    for r in await overrides(conn, tenant_id):
        if (k := of(r)) and r["field"] in CLASSIFIED_FIELDS:
            k.overrides[r["field"]] += int(r["n"])
            recent_overrides[int(r["tenant_id"])] = recent_overrides.get(int(r["tenant_id"]), 0) + int(r["recent"])
    for r in await suggestion_outcomes(conn, tenant_id):
        if (k := of(r)) and r["outcome"] in SUGGESTION_OUTCOMES:
            k.suggestions[r["outcome"]] = int(r["n"])
    for tid, k in out.items():
        k.override_ratio = _ratio(recent_overrides.get(tid, 0), recent_classified.get(tid, 0))
    _fold_csat(out, await csat(conn, tenant_id))
    for col, attr in (("first_response_at", "first_response"), ("resolved_at", "resolution")):
        for r in await durations(conn, tenant_id, col):
            if k := of(r):
                getattr(k, attr)[r["channel"]] = _histogram(r)
    for r in await outbox_backlog(conn, tenant_id):
        if k := of(r):
            k.outbox_backlog[r["channel"]] = int(r["n"])
            k.outbox_oldest_seconds[r["channel"]] = float(r["oldest"])
    return out


def _fold_csat(out: dict[int, TenantKpis], rows: Rows) -> None:
    recent: dict[tuple[int, str], tuple[int, int]] = {}  # (tenant, channel) → (sum, count) over the window
    for r in rows:
        k = out.get(int(r["tenant_id"]))
        if k is None:
            continue
        score, n = int(r["score"]), int(r["n"])
        h = k.csat.setdefault(r["channel"], Histogram([0] * len(CSAT_SCORES)))
        for i, bound in enumerate(CSAT_SCORES):
            if score <= bound:
                h.buckets[i] += n
        h.count += n
        h.total += score * n
        s, c = recent.get((int(r["tenant_id"]), r["channel"]), (0, 0))
        recent[(int(r["tenant_id"]), r["channel"])] = (s + score * int(r["recent"]), c + int(r["recent"]))
    for (tid, channel), (s, c) in recent.items():
        if c:
            out[tid].csat_average[channel] = s / c
