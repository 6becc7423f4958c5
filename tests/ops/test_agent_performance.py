"""Agent performance and the handling KPIs against a hand-computed data set, and who may read them.

Two agents with opposite queues: Ann has two billing/high conversations and one technical/low,
Bob one billing/high and two technical/low. Billing/high is the slow cell, so Ann's raw first
response time looks worse than the team's and Bob's better; on their own mix they are 40 s either
side of expected. Every figure below is worked out by hand in the comments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from psycopg_pool import AsyncConnectionPool

from copilot.admin_api import AdminApi
from copilot.agents_perf_api import AgentPerformanceApi
from copilot.api import ConsoleApi
from copilot.auth import Auth
from copilot.passwords import hash_password
from copilot.sessions import SessionCodec
from gateway.http_errors import errors_middleware
from gateway.ops.http import OpsHttp
from gateway.ops.routing import SkillRouter
from gateway.replies import send_reply
from store import agent_performance, agents, tenants
from store.tenants import Tenant
from tests.copilot.console_client import ConsoleClient
from tests.ops import seed

T0 = datetime(2024, 6, 10, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=2)
PASSWORD = "pw-12345678"

# One conversation: its cell, final status, CSAT, and timeline of (seconds after creation, event).
# Events: "in" customer message; "ai" AI reply; ("out"|"note", agent) reply / internal note;
# "pending" hand-off; ("assign", agent); ("resolve", agent or None for the AI); "reopen"; "close".
Timeline = list[tuple[int, Any]]
CONVERSATIONS: dict[str, tuple[str, str, str, int | None, Timeline]] = {
    # Ann, billing/high: FRT 300-60 = 240; handle (300-120) + (1200-1000) = 380; resolved; CSAT 5
    "c1": ("billing", "high", "resolved", 5, [(0, "in"), (60, "pending"), (120, ("assign", "ann")),
                                              (300, ("out", "ann")), (1000, "in"), (1200, ("out", "ann")),
                                              (1300, ("resolve", "ann"))]),
    # Ann, billing/high: FRT 2000; handle min(2000, 600) = 600; still open
    "c6": ("billing", "high", "assigned", None, [(0, "in"), (0, "pending"), (0, ("assign", "ann")),
                                                 (2000, ("out", "ann"))]),
    # Ann, technical/low: FRT 40; handle 40; resolved; CSAT 4
    "c4": ("technical", "low", "resolved", 4, [(0, "in"), (10, "pending"), (10, ("assign", "ann")),
                                               (50, ("out", "ann")), (100, ("resolve", "ann"))]),
    # Bob, billing/high: FRT 940; handle min(900, 600) = 600; resolved, reopened, resolved again; CSAT 3
    "c2": ("billing", "high", "resolved", 3, [(0, "in"), (60, "pending"), (100, ("assign", "bob")),
                                              (1000, ("out", "bob")), (1100, ("resolve", "bob")), (2000, "reopen"),
                                              (3000, ("resolve", "bob"))]),
    # Bob, technical/low: FRT 60; handle 60 + 60 = 120 (the note counts); still open
    "c3": ("technical", "low", "assigned", None, [(0, "in"), (30, "pending"), (30, ("assign", "bob")),
                                                  (90, ("out", "bob")), (150, ("note", "bob"))]),
    # Bob, technical/low: FRT 20; handle 20; resolved then closed; CSAT 5
    "c7": ("technical", "low", "closed", 5, [(0, "in"), (0, "pending"), (0, ("assign", "bob")),
                                             (20, ("out", "bob")), (30, ("resolve", "bob")), (40, "close")]),
    # The AI alone: first response after 5 s, resolved by the AI; CSAT 5
    "c5": ("billing", "high", "resolved", 5, [(0, "in"), (5, "ai"), (10, ("resolve", None))]),
}
# Drafts: Ann sent c1's as is, discarded c6's, edited c4's; Bob discarded c2's, edited c3's.
SUGGESTIONS = (("c1", "ann", "accepted"), ("c6", "ann", "discarded"), ("c4", "ann", "edited"),
               ("c2", "bob", "discarded"), ("c3", "bob", "edited"))
AI_RUNS = 2  # on c5


async def seed_dataset(pool: AsyncConnectionPool, tenant_id: int, t0: datetime = T0) -> dict[str, int]:
    """Inserts the data set with explicit timestamps; returns agent and conversation ids by name."""
    ids = {"ann": await seed.agent(pool, tenant_id, "ann"), "bob": await seed.agent(pool, tenant_id, "bob")}
    async with pool.connection() as conn:
        for name, (category, urgency, status, score, timeline) in CONVERSATIONS.items():
            replies = [at for at, ev in timeline if ev == "ai" or (isinstance(ev, tuple) and ev[0] == "out")]
            cid = await seed.conversation(pool, tenant_id, created_at=t0, status=status, category=category,
                                          urgency=urgency, first_response_at=t0 + timedelta(seconds=min(replies)))
            ids[name] = cid
            status_now, seq = "ai_active", 0
            for at, ev in timeline:
                when = t0 + timedelta(seconds=at)
                kind, who = ev if isinstance(ev, tuple) else (ev, None)
                if kind in ("in", "ai", "out", "note"):
                    seq += 1
                    direction = {"in": "in", "note": "internal"}.get(kind, "out")
                    author = {"in": "customer", "ai": "ai"}.get(kind, "agent")
                    await conn.execute(
                        "INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, author_id,"
                        " channel, text, created_at) VALUES (%s, %s, %s, %s, %s, %s, 'chat', 'text', %s)",
                        (tenant_id, cid, seq, direction, author, ids[who] if who else None, when))
                    continue
                to, actor, reason = {
                    "pending": ("pending_agent", "ai:graph", "handoff"),
                    "assign": ("assigned", f"agent:{ids[who]}" if who else "", f"assigned to agent {ids.get(who)}"),
                    "resolve": ("resolved", f"agent:{ids[who]}" if who else "ai:graph", "resolved"),
                    "reopen": ("ai_active", "ingest", "customer wrote again"),
                    "close": ("closed", "ops:close", "closed"),
                }[kind]
                await conn.execute(
                    "INSERT INTO status_changes (tenant_id, conversation_id, from_status, to_status, actor, reason,"
                    " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (tenant_id, cid, status_now, to, actor, reason, when))
                status_now = to
            await conn.execute("UPDATE conversations SET last_seq = %s, resolved_at = (SELECT max(created_at) FROM"
                               " status_changes WHERE tenant_id = %s AND conversation_id = %s AND to_status = 'resolved')"
                               " WHERE tenant_id = %s AND id = %s", (seq, tenant_id, cid, tenant_id, cid))
            if score is not None:
                await conn.execute("INSERT INTO csat_responses (tenant_id, conversation_id, score, channel, actor,"
                                   " created_at) VALUES (%s, %s, %s, 'chat', 'test', %s)",
                                   (tenant_id, cid, score, t0 + timedelta(hours=1)))
        for name, who, outcome in SUGGESTIONS:
            await conn.execute("INSERT INTO suggestions (tenant_id, conversation_id, agent_id, text, outcome,"
                               " created_at) VALUES (%s, %s, %s, 'draft', %s, %s)",
                               (tenant_id, ids[name], ids[who], outcome, t0))
        for _ in range(AI_RUNS):
            await conn.execute("INSERT INTO agent_runs (tenant_id, conversation_id, decision, acted, backend,"
                               " created_at) VALUES (%s, %s, 'answer', true, 'test', %s)", (tenant_id, ids["c5"], t0))
    return ids


def row(count: int, actual: float, expected: float, team: float) -> dict[str, Any]:
    return {"count": count, "actual": round(actual, 4), "expected": round(expected, 4),
            "delta": round(actual - expected, 4), "team": round(team, 4)}


# Team cell means, then each agent's expected = the mean of the team's cell means over the agent's own
# observations (Ann: 2 × billing/high + 1 × technical/low; Bob the reverse).
ANN = {
    # cells: billing/high (240, 2000, 940) → 1060; technical/low (40, 60, 20) → 40
    "first_response_seconds": row(3, (240 + 2000 + 40) / 3, (1060 + 1060 + 40) / 3, 3300 / 6),
    # cells: billing/high (380, 600, 600) → 1580/3; technical/low (40, 120, 20) → 60
    "handle_seconds": row(3, (380 + 600 + 40) / 3, (2 * 1580 / 3 + 60) / 3, 1760 / 6),
    # every cell resolves 2 of 3
    "resolution_rate": row(3, 2 / 3, 2 / 3, 4 / 6),
    # cells: billing/high (5, 3) → 4; technical/low (4, 5) → 4.5
    "csat": row(2, 4.5, 4.25, 17 / 4),
    # cells: billing/high (0, 1) → 0.5; technical/low (0, 0) → 0
    "reopen_rate": row(2, 0.0, 0.25, 1 / 4),
    # cells: billing/high (1, 0, 0) → 1/3; technical/low (1, 1) → 1
    "suggestion_adoption": row(3, 2 / 3, (1 / 3 + 1 / 3 + 1) / 3, 3 / 5),
}
BOB = {
    "first_response_seconds": row(3, (940 + 60 + 20) / 3, (1060 + 40 + 40) / 3, 3300 / 6),
    "handle_seconds": row(3, (600 + 120 + 20) / 3, (1580 / 3 + 60 + 60) / 3, 1760 / 6),
    "resolution_rate": row(3, 2 / 3, 2 / 3, 4 / 6),
    "csat": row(2, 4.0, 4.25, 17 / 4),
    "reopen_rate": row(2, 0.5, 0.25, 1 / 4),
    "suggestion_adoption": row(2, 1 / 2, (1 / 3 + 1) / 2, 3 / 5),
}


async def test_agent_figures_match_hand_computed_ones_on_their_own_mix(
        pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant) -> None:
    ids = await seed_dataset(pool, tenant.id)
    await seed_dataset(pool, other_tenant.id, T0 + timedelta(hours=1))  # another tenant's copy never counts
    await seed.conversation(pool, tenant.id, created_at=T0 - timedelta(days=30), category="billing")  # outside
    async with pool.connection() as conn:
        got = await agent_performance.agents_report(conn, tenant.id, T0 - timedelta(days=1), NOW)
    by_name = {a["name"]: a for a in got["agents"]}
    assert set(by_name) == {"ann", "bob"}
    assert by_name["ann"]["agent_id"] == ids["ann"] and by_name["ann"]["role"] == "agent"
    assert by_name["ann"]["mix"] == {"billing/high": 2, "technical/low": 1}
    assert by_name["bob"]["mix"] == {"billing/high": 1, "technical/low": 2}
    assert by_name["ann"]["metrics"] == ANN
    assert by_name["bob"]["metrics"] == BOB
    # The point of the comparison: raw, Ann is 210 s slower than the team and Bob 210 s faster; on their
    # own queues they are 40 s either side of what the team would do.
    assert ANN["first_response_seconds"]["actual"] - ANN["first_response_seconds"]["team"] == 210
    assert (ANN["first_response_seconds"]["delta"], BOB["first_response_seconds"]["delta"]) == (40, -40)


EXPECTED_HANDLING = {
    "handle_time_average_seconds": round(1760 / 6, 4),  # (380 + 600 + 40 + 600 + 120 + 20) / 6 pairs
    # created → first response: humans 300, 2000, 50, 1000, 90, 20; the AI 5
    "first_response": {"ai": {"count": 1, "average_seconds": 5.0},
                       "human": {"count": 6, "average_seconds": round(3460 / 6, 4)}},
    # resolved: c1 5, c4 4, c2 3, c7 5 by humans; c5 5 by the AI
    "csat_by_resolver": {"ai": {"answers": 1, "average": 5.0}, "human": {"answers": 4, "average": 4.25}},
    # 1760 s = 0.48889 h × 36 + 2 runs × 0.5 = 18.6, over 5 resolutions
    "cost": {"inputs": {"agent_hour": 36.0, "ai_run": 0.5}, "resolutions": 5, "agent_hours": round(1760 / 3600, 4),
             "ai_runs": 2, "total": 18.6, "per_resolution": 3.72},
}


async def test_handling_kpis_split_ai_and_human(pool: AsyncConnectionPool, tenant: Tenant,
                                                other_tenant: Tenant) -> None:
    await seed_dataset(pool, tenant.id)
    await seed_dataset(pool, other_tenant.id)
    async with pool.connection() as conn:
        k = await agent_performance.handling_kpis(conn, tenant.id, T0 - timedelta(days=1), NOW,
                                                  {"agent_hour": 36.0, "ai_run": 0.5})
    assert k.as_json() == EXPECTED_HANDLING


def test_cost_inputs_default_and_validate() -> None:
    assert agent_performance.cost_inputs({}) == {"agent_hour": 30.0, "ai_run": 0.002}
    assert agent_performance.cost_inputs({"costs": {"ai_run": 1}}) == {"agent_hour": 30.0, "ai_run": 1.0}
    for bad, where in (({"agent_hour": -1}, "costs.agent_hour"), ({"ai_run": "x"}, "costs.ai_run"),
                       ({"ai_run": True}, "costs.ai_run"), ({"pizza": 1}, "costs.pizza"),
                       ({"agent_hour": float("nan")}, "costs.agent_hour")):
        with pytest.raises(ValueError, match=where):
            agent_performance.cost_inputs({"costs": bad})
    with pytest.raises(ValueError, match="costs"):
        agent_performance.cost_inputs({"costs": [1]})


@pytest.fixture
async def server(pool: AsyncConnectionPool) -> AsyncIterator[str]:
    codec = SessionCodec("perf-test-secret-0123456789-abcdefghijklmnop")
    auth = Auth(pool, codec, secure_cookies=False)
    app = web.Application(middlewares=[errors_middleware])
    router = SkillRouter(clock=lambda: NOW)
    app.add_routes(auth.routes())
    app.add_routes(ConsoleApi(pool, auth, send_reply, router, "http://x.test").routes())  # /console/api/me
    app.add_routes(OpsHttp(pool, auth, router, "http://x.test").routes())
    app.add_routes(AdminApi(pool, auth, router).routes())
    app.add_routes(AgentPerformanceApi(pool, auth).routes())
    srv = TestServer(app)
    await srv.start_server()
    yield str(srv.make_url("")).rstrip("/")
    await srv.close()


async def test_leads_and_admins_read_it_agents_do_not(pool: AsyncConnectionPool, tenant: Tenant, server: str) -> None:
    await seed_dataset(pool, tenant.id)
    async with pool.connection() as conn:
        for email, role in (("lead@perf.test", "lead"), ("boss@perf.test", "admin"), ("al@perf.test", "agent")):
            await agents.create(conn, tenant.id, email=email, name=email.split("@")[0],
                                password_hash=hash_password(PASSWORD), role=role)
    clients = {name: ConsoleClient(server) for name in ("lead", "boss", "al")}
    try:
        for name, client in clients.items():
            assert await client.login(f"{name}@perf.test", PASSWORD) == 303
        # Admins set the cost inputs in the console's settings; each change merges over the last.
        settings = "/console/api/admin/settings"
        await clients["boss"].send("PATCH", settings, {"costs": {"agent_hour": 36}})
        got = await clients["boss"].send("PATCH", settings, {"costs": {"ai_run": 0.5}})
        assert got["settings"]["costs"] == {"agent_hour": 36.0, "ai_run": 0.5}
        for bad, field in (({"agent_hour": -3}, "costs.agent_hour"), ({"tea": 1}, "costs.tea"), ([], "costs")):
            err = await clients["boss"].send("PATCH", settings, {"costs": bad}, expect=422)
            assert err["error"]["field"] == field
        await clients["lead"].send("PATCH", settings, {"costs": {"agent_hour": 1}}, expect=403)
        for path in ("/api/reports/agents?days=7", "/api/reports/handling?days=7", "/console/api/agents/performance"):
            await ConsoleClient(server).get(path, expect=401)
            await clients["al"].get(path, expect=403)
        for who in ("lead", "boss"):
            report = await clients[who].get("/api/reports/agents?days=7")
            assert {a["name"]: a["metrics"] for a in report["agents"]} == {"ann": ANN, "bob": BOB}
            handling = await clients[who].get("/api/reports/handling?days=7")
            assert {k: handling[k] for k in EXPECTED_HANDLING} == EXPECTED_HANDLING
        for bad in ("0", "366", "x"):
            for path in ("/api/reports/agents", "/api/reports/handling", "/console/api/agents/performance"):
                err = await clients["lead"].get(f"{path}?days={bad}", expect=422)
                assert err["error"]["field"] == "days"
        # The console endpoint reads the real clock: the 2024 data set is outside its window.
        assert (await clients["lead"].get("/console/api/agents/performance?days=7"))["agents"] == []
        async with pool.connection() as conn:
            await tenants.update_settings(conn, tenant.id, {"costs": {"agent_hour": "lots"}})
        err = await clients["boss"].get("/api/reports/handling?days=7", expect=409)
        assert err["error"]["field"] == "costs.agent_hour"
    finally:
        for client in clients.values():
            await client.close()
