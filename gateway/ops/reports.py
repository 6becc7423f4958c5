"""The managers' overview report: ``GET /api/reports/overview?days=N`` (admins only).

Definitions match ``store.kpis`` so the API and the dashboards agree:

* window: conversations created in the last N days (up to now); CSAT answers and suggestions offered
  in it;
* first response / resolution time: ``first_response_at`` / ``resolved_at`` minus ``created_at``, in
  seconds; median and p90 by linear interpolation between the closest ranks (numpy's default);
* SLA target met: done by its due time; breached: done after it, or not done and past it. The due
  time moves on while the conversation waits on the customer (clocks pause there). Compliance % =
  met / (met + breached); targets still running and conversations without due times are left out;
* auto-resolved: resolved or closed, never handed off, no human agent wrote; handed off: went to
  ``pending_agent`` at least once. Both rates are over all conversations in the window;
* suggestion adoption: (accepted + edited) / decided drafts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from store import agent_performance, reports, tenants

DONE = ("resolved", "closed")
OPEN = ("new", "ai_active", "waiting_customer", "pending_agent", "assigned")


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _stats(values: list[float]) -> dict[str, Any]:
    def rounded(q: float) -> float | None:
        p = percentile(values, q)
        return None if p is None else round(p, 3)

    return {"count": len(values), "median_seconds": rounded(0.5), "p90_seconds": rounded(0.9)}


def _ratio(part: int, whole: int, *, percent: bool = False) -> float | None:
    if not whole:
        return None
    return round(part / whole * (100 if percent else 1), 4)


def sla_outcome(done_at: datetime | None, due: datetime | None, paused_at: datetime | None,
                now: datetime) -> str | None:
    """met / breached / pending, or None when the target has no due time."""
    if due is None:
        return None
    if done_at is None and paused_at is not None:
        due = due + (now - paused_at)  # the stored due is frozen while waiting on the customer
    if done_at is not None:
        return "met" if done_at <= due else "breached"
    return "breached" if now > due else "pending"


async def overview(conn: AsyncConnection[Any], tenant_id: int, *, days: int, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=days)
    rows = await reports.conversations(conn, tenant_id, since, now)
    total = len(rows)
    resolved = [r for r in rows if r["status"] in DONE]
    first = [(r["first_response_at"] - r["created_at"]).total_seconds() for r in rows if r["first_response_at"]]
    resolution = [(r["resolved_at"] - r["created_at"]).total_seconds() for r in resolved if r["resolved_at"]]
    sla: dict[str, dict[str, int]] = {t: {"met": 0, "breached": 0, "pending": 0} for t in ("first_response",
                                                                                          "resolution")}
    breached_ids: set[int] = set()
    for r in rows:
        done_resolution = r["resolved_at"] if r["status"] in DONE else None
        for target, done, due in (("first_response", r["first_response_at"], r["sla_first_response_due"]),
                                  ("resolution", done_resolution, r["sla_resolution_due"])):
            outcome = sla_outcome(done, due, r["sla_paused_at"], now)
            if outcome:
                sla[target][outcome] += 1
                if outcome == "breached":
                    breached_ids.add(r["id"])
    met = sum(t["met"] for t in sla.values())
    breached = sum(t["breached"] for t in sla.values())
    by: dict[str, dict[str, dict[str, int]]] = {"category": {}, "urgency": {}, "channel": {}}
    for r in rows:
        for dim, key in (("category", r["category"]), ("urgency", r["urgency"]), ("channel", r["last_channel"])):
            slot = by[dim].setdefault(key or "unset", {"conversations": 0, "open": 0, "resolved": 0,
                                                       "sla_breached": 0})
            slot["conversations"] += 1
            slot["open" if r["status"] in OPEN else "resolved"] += 1
            slot["sla_breached"] += r["id"] in breached_ids
    auto = sum(1 for r in resolved if not r["handed_off"] and not r["human"])
    handed = sum(1 for r in rows if r["handed_off"])
    scores = await reports.csat_scores(conn, tenant_id, since, now)
    answered = sum(scores.values())
    outcomes = await reports.suggestion_outcomes(conn, tenant_id, since, now)
    adopted = outcomes.get("accepted", 0) + outcomes.get("edited", 0)
    decided = adopted + outcomes.get("discarded", 0)
    return {
        "days": days,
        "since": since.isoformat(),
        "until": now.isoformat(),
        "totals": {"conversations": total, "open": total - len(resolved), "resolved": len(resolved)},
        "first_response": _stats(first),
        "resolution": _stats(resolution),
        "sla": {
            "targets": {t: {**v, "compliance_percent": _ratio(v["met"], v["met"] + v["breached"], percent=True)}
                        for t, v in sla.items()},
            "compliance_percent": _ratio(met, met + breached, percent=True),
            "breaches": breached,
            "breached_conversations": len(breached_ids),
            "breaches_recorded": await reports.recorded_breaches(conn, tenant_id, since, now),
        },
        "by_category": by["category"],
        "by_urgency": by["urgency"],
        "by_channel": by["channel"],
        "auto_resolution_rate": _ratio(auto, total),
        "handoff_rate": _ratio(handed, total),
        "csat": {"responses": answered,
                 "average": round(sum(s * n for s, n in scores.items()) / answered, 4) if answered else None,
                 "distribution": {str(s): scores.get(s, 0) for s in range(1, 6)}},
        "suggestions": {"offered": sum(outcomes.values()), "accepted": outcomes.get("accepted", 0),
                        "edited": outcomes.get("edited", 0), "discarded": outcomes.get("discarded", 0),
                        "pending": outcomes.get("pending", 0), "adoption_rate": _ratio(adopted, decided)},
    }


async def agents(conn: AsyncConnection[Any], tenant_id: int, *, days: int, now: datetime) -> dict[str, Any]:
    """``GET /api/reports/agents``: each agent against the team on their own mix (``store.agent_performance``)."""
    return {"days": days, **await agent_performance.agents_report(conn, tenant_id, now - timedelta(days=days), now)}


async def handling(conn: AsyncConnection[Any], tenant_id: int, *, days: int, now: datetime) -> dict[str, Any]:
    """``GET /api/reports/handling``: handle time, AI vs human first response and CSAT, cost per resolution."""
    tenant = await tenants.get(conn, tenant_id)
    costs = agent_performance.cost_inputs(tenant.settings if tenant else {})
    k = await agent_performance.handling_kpis(conn, tenant_id, now - timedelta(days=days), now, costs)
    return {"days": days, "since": (now - timedelta(days=days)).isoformat(), "until": now.isoformat(), **k.as_json()}
