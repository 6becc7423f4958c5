"""Per-agent performance compared fairly, and the handling KPIs (handle time, AI vs human, cost per resolution).

The window is the conversations *created* in ``[since, until]``; every figure below is about them.
Everything is read from stored events (messages, status changes, suggestions, CSAT answers), so the
numbers can be recomputed for any past window.

Definitions (per agent *a*; the README's "Agent performance" repeats them):

* worked: *a* was assigned the conversation (``status_changes`` to ``assigned``, whose reason
  ``store.conversations.assign`` writes as "assigned to agent N") or wrote in it (reply or note).
* first response time: for conversations where *a* wrote the first human reply, seconds from the
  moment the conversation first reached humans (first change to ``pending_agent`` or ``assigned``;
  its creation if it never went through them) to that reply.
* handle time: the time *a* actively worked a conversation = the sum, over *a*'s replies and notes,
  of the time since the previous thing that happened in it (any message, or an assignment), each gap
  capped at ``HANDLE_GAP_CAP_SECONDS``, so waiting for the customer or an idle tab never counts.
  Averaged over the conversations *a* wrote in.
* resolution rate: share of worked conversations that are resolved/closed and whose last
  ``resolved`` change was made by *a* (``agent:<id>``).
* CSAT: scores of the conversations *a* resolved last.
* reopen rate: share of conversations *a* resolved that were reopened after *a*'s first resolution.
* suggestion adoption: share of *a*'s decided AI drafts sent as is or edited (not discarded).

Fair comparison: every figure is an average of per-observation values, and each observation sits in
a (category, urgency) cell of its conversation. ``expected`` is the team's average in each cell
(all agents' observations), weighted by how many observations *a* has in that cell — the number *a*
would get performing exactly like the team on *a*'s own queue. ``delta = actual - expected``.

Handling KPIs (per tenant): average handle time (over (conversation, agent) pairs as above); first
response time (``first_response_at - created_at``) split by who wrote that first response (ai or
human); CSAT split by AI-resolved (never handed off, no human wrote) vs human-resolved; cost per
resolution = (handle hours × ``costs.agent_hour`` + agent-graph runs × ``costs.ai_run``) / resolved
conversations, with the cost inputs from the tenant setting ``costs``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from store.tenants import DEFAULT_SETTINGS

HANDLE_GAP_CAP_SECONDS = 600.0
DEFAULT_COSTS: dict[str, float] = DEFAULT_SETTINGS["costs"]
MAX_COST = 1_000_000.0
RESOLVED = ("resolved", "closed")
REOPENED_TO = ("new", "ai_active", "waiting_customer", "pending_agent", "assigned")
Rows = list[dict[str, Any]]


def cost_inputs(settings: dict[str, Any]) -> dict[str, float]:
    """The tenant's ``costs`` setting over the defaults; raises ValueError naming the bad field."""
    raw = settings.get("costs") or {}
    if not isinstance(raw, dict):
        raise ValueError("costs: must be an object")
    out = dict(DEFAULT_COSTS)
    for key, value in raw.items():
        if key not in DEFAULT_COSTS:
            raise ValueError(f"costs.{key}: unknown (known: {', '.join(DEFAULT_COSTS)})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_COST \
                or not math.isfinite(value):
            raise ValueError(f"costs.{key}: a number from 0 to {MAX_COST:g}")
        out[key] = float(value)
    return out


async def _rows(conn: AsyncConnection[Any], query: str, params: tuple[Any, ...]) -> Rows:
    cur = await conn.execute(query, params)
    return list(await cur.fetchall())


# The conversations of the window; every other query keys on the same filter.
_IN_WINDOW = "tenant_id = %s AND created_at >= %s AND created_at <= %s"
_CONV_IDS = f"SELECT id FROM conversations WHERE {_IN_WINDOW}"


async def conversations(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> Rows:
    """One row per conversation: its cell, status, first responder, final resolver and CSAT.

    Set-based (one grouped pass over each table, hash-joined) rather than a subquery per conversation:
    ``status_changes`` has no per-conversation index and the collector runs this on scrapes."""
    return await _rows(conn, f"""
        WITH c AS (SELECT * FROM conversations WHERE {_IN_WINDOW}),
        sc AS (SELECT conversation_id,
                      min(created_at) FILTER (WHERE to_status IN ('pending_agent', 'assigned')) AS human_queue_at,
                      bool_or(to_status = 'pending_agent') AS handed_off,
                      (array_agg(actor ORDER BY created_at DESC, id DESC) FILTER (WHERE to_status = 'resolved'))[1]
                        AS resolved_by
               FROM status_changes WHERE tenant_id = %s AND conversation_id IN (SELECT id FROM c) GROUP BY 1),
        m AS (SELECT conversation_id, bool_or(author_kind = 'agent') AS human,
                     (array_agg(author_kind ORDER BY created_at, seq)
                        FILTER (WHERE direction = 'out' AND author_kind IN ('ai', 'agent')))[1] AS first_author
              FROM messages WHERE tenant_id = %s AND conversation_id IN (SELECT id FROM c) GROUP BY 1)
        SELECT c.id, coalesce(c.category, 'unset') AS category, coalesce(c.urgency, 'unset') AS urgency,
               c.status, c.created_at, c.first_response_at, m.first_author, sc.human_queue_at, sc.resolved_by,
               coalesce(sc.handed_off, false) AS handed_off, coalesce(m.human, false) AS human, r.score AS csat
        FROM c LEFT JOIN sc ON sc.conversation_id = c.id LEFT JOIN m ON m.conversation_id = c.id
        LEFT JOIN csat_responses r ON r.tenant_id = c.tenant_id AND r.conversation_id = c.id
        ORDER BY c.id""", (tenant_id, since, until, tenant_id, tenant_id))


async def events(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> Rows:
    """Messages, assignments, resolutions and reopenings of the window's conversations, in time order."""
    return await _rows(conn, f"""
        SELECT conversation_id, created_at, seq AS ord, 'message' AS kind, author_kind, author_id, direction,
               false AS reopen
          FROM messages WHERE tenant_id = %s AND conversation_id IN ({_CONV_IDS})
        UNION ALL
        SELECT conversation_id, created_at, 0, CASE WHEN to_status = 'assigned' THEN 'assigned'
                 WHEN to_status = 'resolved' THEN 'resolved' ELSE 'reopened' END, NULL,
               CASE WHEN to_status = 'assigned' THEN substring(reason FROM '^assigned to agent ([0-9]{{1,18}})$')::bigint
                    WHEN actor ~ '^agent:[0-9]{{1,18}}$' THEN substring(actor FROM 7)::bigint END, NULL,
               from_status = ANY(%s) AND to_status = ANY(%s)
          FROM status_changes WHERE tenant_id = %s AND conversation_id IN ({_CONV_IDS})
           AND (to_status IN ('assigned', 'resolved') OR (from_status = ANY(%s) AND to_status = ANY(%s)))
        ORDER BY conversation_id, created_at, ord""",
                       (tenant_id, tenant_id, since, until, list(RESOLVED), list(REOPENED_TO), tenant_id, tenant_id,
                        since, until, list(RESOLVED), list(REOPENED_TO)))


async def suggestions(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> Rows:
    """Decided AI drafts shown to a known agent in the window's conversations."""
    return await _rows(conn, f"""
        SELECT agent_id, conversation_id, outcome FROM suggestions
        WHERE tenant_id = %s AND agent_id IS NOT NULL AND outcome IS NOT NULL AND conversation_id IN ({_CONV_IDS})""",
                       (tenant_id, tenant_id, since, until))


async def ai_runs(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime) -> int:
    rows = await _rows(conn, f"SELECT count(*) AS n FROM agent_runs WHERE tenant_id = %s"
                             f" AND conversation_id IN ({_CONV_IDS})", (tenant_id, tenant_id, since, until))
    return int(rows[0]["n"])


async def agent_names(conn: AsyncConnection[Any], tenant_id: int) -> dict[int, dict[str, str]]:
    rows = await _rows(conn, "SELECT id, name, role FROM agents WHERE tenant_id = %s", (tenant_id,))
    return {int(r["id"]): {"name": r["name"], "role": r["role"]} for r in rows}


@dataclass
class Observations:
    """(agent, metric) → [(cell, value)]; what both the agents' figures and the team's cell means use."""

    by_agent: dict[tuple[int, str], list[tuple[tuple[str, str], float]]] = field(
        default_factory=lambda: defaultdict(list))

    def add(self, agent: int, metric: str, cell: tuple[str, str], value: float) -> None:
        self.by_agent[(agent, metric)].append((cell, value))


def _agent_of(actor: str | None) -> int | None:
    if actor and actor.startswith("agent:") and actor[6:].isdigit():
        return int(actor[6:])
    return None


def observe(convs: Rows, evts: Rows, suggs: Rows) -> tuple[Observations, dict[tuple[int, int], float]]:
    """Per-observation values per agent, and the handle seconds of every (conversation, agent) pair."""
    obs = Observations()
    by_conv: dict[int, Rows] = defaultdict(list)
    for e in evts:
        by_conv[int(e["conversation_id"])].append(e)
    cells = {int(c["id"]): (c["category"], c["urgency"]) for c in convs}
    handle: dict[tuple[int, int], float] = {}
    for c in convs:
        cid, cell = int(c["id"]), cells[int(c["id"])]
        worked: set[int] = set()
        first_resolve: dict[int, datetime] = {}
        reopened_at: list[datetime] = []
        first_human: dict[str, Any] | None = None
        previous: datetime | None = None
        for e in by_conv.get(cid, []):
            agent = e["author_id"]
            if e["reopen"]:
                reopened_at.append(e["created_at"])
            if e["kind"] == "assigned" and agent is not None:
                worked.add(int(agent))
            elif e["kind"] == "resolved" and agent is not None:
                first_resolve.setdefault(int(agent), e["created_at"])
            elif e["kind"] == "message" and e["author_kind"] == "agent" and agent is not None:
                worked.add(int(agent))
                gap = 0.0 if previous is None else (e["created_at"] - previous).total_seconds()
                key = (cid, int(agent))
                handle[key] = handle.get(key, 0.0) + min(max(gap, 0.0), HANDLE_GAP_CAP_SECONDS)
                if first_human is None and e["direction"] == "out":
                    first_human = e
            if e["kind"] in ("message", "assigned"):
                previous = e["created_at"]
        if first_human is not None:
            start = c["human_queue_at"] or c["created_at"]
            obs.add(int(first_human["author_id"]), "first_response_seconds", cell,
                    max(0.0, (first_human["created_at"] - start).total_seconds()))
        final = _agent_of(c["resolved_by"]) if c["status"] in RESOLVED else None
        for agent in worked:
            obs.add(agent, "resolution_rate", cell, float(agent == final))
            if (cid, agent) in handle:
                obs.add(agent, "handle_seconds", cell, handle[(cid, agent)])
        if final is not None and c["csat"] is not None:
            obs.add(final, "csat", cell, float(c["csat"]))
        for agent, at in first_resolve.items():
            obs.add(agent, "reopen_rate", cell, float(any(r > at for r in reopened_at)))
    for s in suggs:
        cell = cells.get(int(s["conversation_id"]))
        if cell is not None:
            obs.add(int(s["agent_id"]), "suggestion_adoption", cell, float(s["outcome"] in ("accepted", "edited")))
    return obs, handle


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


def compare(obs: Observations) -> dict[int, dict[str, dict[str, Any]]]:
    """agent → metric → {count, actual, expected, delta, team}: actual vs the team on the agent's own mix."""
    cell_values: dict[tuple[str, tuple[str, str]], list[float]] = defaultdict(list)
    team: dict[str, list[float]] = defaultdict(list)
    for (_, metric), items in obs.by_agent.items():
        for cell, value in items:
            cell_values[(metric, cell)].append(value)
            team[metric].append(value)
    out: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (agent, metric), items in sorted(obs.by_agent.items()):
        actual = _mean([v for _, v in items])
        expected = _mean([_mean(cell_values[(metric, cell)]) or 0.0 for cell, _ in items])
        out[agent][metric] = {"count": len(items), "actual": _round(actual), "expected": _round(expected),
                              "delta": _round(None if actual is None or expected is None else actual - expected),
                              "team": _round(_mean(team[metric]))}
    return out


def _mix(obs: Observations, agent: int) -> dict[str, int]:
    """How many worked conversations the agent had per 'category/urgency' cell (what the comparison weighs)."""
    counts: dict[str, int] = defaultdict(int)
    for cell, _ in obs.by_agent.get((agent, "resolution_rate"), []):
        counts[f"{cell[0]}/{cell[1]}"] += 1
    return dict(sorted(counts.items()))


async def agents_report(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime
                        ) -> dict[str, Any]:
    """Every agent with observations in the window, each metric actual vs expected on their own mix."""
    convs = await conversations(conn, tenant_id, since, until)
    obs, _ = observe(convs, await events(conn, tenant_id, since, until), await suggestions(conn, tenant_id, since,
                                                                                             until))
    names = await agent_names(conn, tenant_id)
    compared = compare(obs)
    return {"since": since.isoformat(), "until": until.isoformat(), "handle_gap_cap_seconds": HANDLE_GAP_CAP_SECONDS,
            "agents": [{"agent_id": agent, **names.get(agent, {"name": f"agent {agent}", "role": "agent"}),
                        "mix": _mix(obs, agent), "metrics": metrics}
                       for agent, metrics in sorted(compared.items())]}


@dataclass
class HandlingKpis:
    handle_time_average_seconds: float | None = None
    first_response_average_seconds: dict[str, float] = field(default_factory=dict)  # "ai" / "human" → mean
    first_responses: dict[str, int] = field(default_factory=dict)
    csat_average: dict[str, float] = field(default_factory=dict)  # resolved by "ai" / "human" → mean score
    csat_answers: dict[str, int] = field(default_factory=dict)
    resolutions: int = 0
    agent_hours: float = 0.0
    ai_runs: int = 0
    cost_total: float = 0.0
    cost_per_resolution: float | None = None
    costs: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        r = _round
        return {"handle_time_average_seconds": r(self.handle_time_average_seconds),
                "first_response": {k: {"count": self.first_responses[k],
                                       "average_seconds": r(self.first_response_average_seconds[k])}
                                   for k in sorted(self.first_responses)},
                "csat_by_resolver": {k: {"answers": self.csat_answers[k], "average": r(self.csat_average[k])}
                                     for k in sorted(self.csat_answers)},
                "cost": {"inputs": self.costs, "resolutions": self.resolutions, "agent_hours": r(self.agent_hours),
                         "ai_runs": self.ai_runs, "total": r(self.cost_total),
                         "per_resolution": r(self.cost_per_resolution)}}


async def handling_kpis(conn: AsyncConnection[Any], tenant_id: int, since: datetime, until: datetime,
                        costs: dict[str, float]) -> HandlingKpis:
    convs = await conversations(conn, tenant_id, since, until)
    _, handle = observe(convs, await events(conn, tenant_id, since, until), [])
    k = HandlingKpis(costs=dict(costs), ai_runs=await ai_runs(conn, tenant_id, since, until))
    k.handle_time_average_seconds = _mean(list(handle.values()))
    first: dict[str, list[float]] = defaultdict(list)
    csat: dict[str, list[float]] = defaultdict(list)
    for c in convs:
        if c["first_response_at"] is not None and c["first_author"] in ("ai", "agent"):
            who = "ai" if c["first_author"] == "ai" else "human"
            first[who].append(max(0.0, (c["first_response_at"] - c["created_at"]).total_seconds()))
        if c["status"] in RESOLVED:
            k.resolutions += 1
            if c["csat"] is not None:
                csat["human" if c["handed_off"] or c["human"] else "ai"].append(float(c["csat"]))
    for who, values in first.items():
        k.first_responses[who], k.first_response_average_seconds[who] = len(values), sum(values) / len(values)
    for who, values in csat.items():
        k.csat_answers[who], k.csat_average[who] = len(values), sum(values) / len(values)
    k.agent_hours = sum(handle.values()) / 3600
    k.cost_total = k.agent_hours * costs["agent_hour"] + k.ai_runs * costs["ai_run"]
    k.cost_per_resolution = k.cost_total / k.resolutions if k.resolutions else None
    return k


async def handling_snapshot(conn: AsyncConnection[Any], since: datetime, until: datetime
                            ) -> dict[str, HandlingKpis]:
    """Tenant slug → handling KPIs, for the metrics collector: the one cross-tenant read here, which
    lists tenants and then queries each one by its id. A bad ``costs`` setting falls back to the
    defaults here (the reports API names the field instead)."""
    out: dict[str, HandlingKpis] = {}
    for t in await _rows(conn, "SELECT id, slug, settings FROM tenants ORDER BY id", ()):
        try:
            costs = cost_inputs(t["settings"] or {})
        except ValueError:
            costs = dict(DEFAULT_COSTS)
        out[t["slug"]] = await handling_kpis(conn, int(t["id"]), since, until, costs)
    return out
