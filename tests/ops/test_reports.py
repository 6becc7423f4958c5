"""The overview report against a hand-computed data set, and its HTTP access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from psycopg_pool import AsyncConnectionPool

from copilot.api import ConsoleApi
from copilot.auth import Auth
from copilot.passwords import hash_password
from copilot.sessions import SessionCodec
from gateway.http_errors import errors_middleware
from gateway.ops.http import OpsHttp
from gateway.ops.reports import overview
from gateway.ops.routing import SkillRouter
from gateway.replies import send_reply
from store import agents
from store.tenants import Tenant
from tests.copilot.console_client import ConsoleClient
from tests.ops import seed

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
D, H, M = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


async def dataset(pool: AsyncConnectionPool, tenant_id: int) -> dict[str, int]:
    async def conv(created: datetime, **cols: Any) -> int:
        return await seed.conversation(pool, tenant_id, created_at=created, **cols)

    c1 = NOW - 2 * D
    c2 = NOW - 3 * D
    c3 = NOW - 20 * H
    c4 = NOW - 5 * D
    c5 = NOW - 6 * D
    ids = {
        "c1": await conv(c1, channel="chat", category="billing", urgency="high", status="resolved",
                         first_response_at=c1 + timedelta(seconds=60), resolved_at=c1 + timedelta(seconds=600),
                         sla_first_response_due=c1 + H, sla_resolution_due=c1 + 8 * H),
        "c2": await conv(c2, channel="email", category="technical", urgency="critical", status="closed",
                         first_response_at=c2 + timedelta(seconds=300), resolved_at=c2 + 2 * H,
                         sla_first_response_due=c2 + 30 * M, sla_resolution_due=c2 + H),
        "c3": await conv(c3, channel="chat", category="billing", urgency="medium", status="assigned",
                         first_response_at=c3 + timedelta(seconds=120),
                         sla_first_response_due=c3 + 4 * H, sla_resolution_due=c3 + 24 * H),
        "c4": await conv(c4, channel="slack", category=None, urgency="low", status="pending_agent",
                         sla_first_response_due=c4 + 8 * H, sla_resolution_due=c4 + 48 * H),
        "c5": await conv(c5, channel="chat", category="technical", urgency="high", status="resolved",
                         first_response_at=c5 + timedelta(seconds=30), resolved_at=c5 + timedelta(seconds=90)),
        "old": await conv(NOW - 10 * D, channel="chat", category="billing", urgency="high", status="resolved",
                          first_response_at=NOW - 10 * D + M, resolved_at=NOW - 10 * D + H),
    }
    async with pool.connection() as conn:
        for name in ("c2", "c3", "c4"):
            await conn.execute("INSERT INTO status_changes (tenant_id, conversation_id, from_status, to_status, actor)"
                               " VALUES (%s, %s, 'ai_active', 'pending_agent', 'ai')", (tenant_id, ids[name]))
        await conn.execute("INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, channel,"
                           " text) VALUES (%s, %s, 1, 'out', 'agent', 'email', 'hi')", (tenant_id, ids["c2"]))
        for name, score, when in (("c1", 5, NOW - D), ("c2", 2, NOW - 2 * D), ("c5", 4, NOW - 5 * D),
                                  ("old", 1, NOW - 9 * D)):
            await conn.execute("INSERT INTO csat_responses (tenant_id, conversation_id, score, channel, actor,"
                               " created_at) VALUES (%s, %s, %s, 'chat', 'test', %s)", (tenant_id, ids[name], score, when))
        for name, outcome, when in (("c2", "accepted", NOW - D), ("c2", "edited", NOW - D), ("c2", "discarded", NOW - D),
                                    ("c2", None, NOW - D), ("c3", "accepted", NOW - H), ("old", "accepted", NOW - 9 * D)):
            await conn.execute("INSERT INTO suggestions (tenant_id, conversation_id, text, outcome, created_at)"
                               " VALUES (%s, %s, 'draft', %s, %s)", (tenant_id, ids[name], outcome, when))
        for rung, skipped in ((100, False), (90, True)):
            await conn.execute("INSERT INTO sla_rungs (tenant_id, conversation_id, target, rung, due_at, elapsed_ratio,"
                               " skipped, fired_at) VALUES (%s, %s, 'first_response', %s, %s, 1.0, %s, %s)",
                               (tenant_id, ids["c4"], rung, NOW - 4 * D, skipped, NOW - 4 * D))
    return ids


EXPECTED: dict[str, Any] = {
    "totals": {"conversations": 5, "open": 2, "resolved": 3},
    # first responses [30, 60, 120, 300] s; resolutions [90, 600, 7200] s
    "first_response": {"count": 4, "median_seconds": 90.0, "p90_seconds": 246.0},
    "resolution": {"count": 3, "median_seconds": 600.0, "p90_seconds": 5880.0},
    "sla": {
        "targets": {"first_response": {"met": 3, "breached": 1, "pending": 0, "compliance_percent": 75.0},
                    "resolution": {"met": 1, "breached": 2, "pending": 1, "compliance_percent": 33.3333}},
        "compliance_percent": 57.1429, "breaches": 3, "breached_conversations": 2, "breaches_recorded": 1,
    },
    "by_category": {"billing": {"conversations": 2, "open": 1, "resolved": 1, "sla_breached": 0},
                    "technical": {"conversations": 2, "open": 0, "resolved": 2, "sla_breached": 1},
                    "unset": {"conversations": 1, "open": 1, "resolved": 0, "sla_breached": 1}},
    "by_urgency": {"high": {"conversations": 2, "open": 0, "resolved": 2, "sla_breached": 0},
                   "critical": {"conversations": 1, "open": 0, "resolved": 1, "sla_breached": 1},
                   "medium": {"conversations": 1, "open": 1, "resolved": 0, "sla_breached": 0},
                   "low": {"conversations": 1, "open": 1, "resolved": 0, "sla_breached": 1}},
    "by_channel": {"chat": {"conversations": 3, "open": 1, "resolved": 2, "sla_breached": 0},
                   "email": {"conversations": 1, "open": 0, "resolved": 1, "sla_breached": 1},
                   "slack": {"conversations": 1, "open": 1, "resolved": 0, "sla_breached": 1}},
    "auto_resolution_rate": 0.4,
    "handoff_rate": 0.6,
    "csat": {"responses": 3, "average": 3.6667, "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}},
    "suggestions": {"offered": 5, "accepted": 2, "edited": 1, "discarded": 1, "pending": 1, "adoption_rate": 0.75},
}


async def test_overview_matches_hand_computed_figures(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    await dataset(pool, tenant.id)
    async with pool.connection() as conn:
        got = await overview(conn, tenant.id, days=7, now=NOW)
    assert {k: got[k] for k in EXPECTED} == EXPECTED
    assert got["days"] == 7 and got["since"] == (NOW - 7 * D).isoformat()


@pytest.fixture
async def console(pool: AsyncConnectionPool) -> AsyncIterator[str]:
    codec = SessionCodec("ops-test-secret-0123456789-abcdefghijklmnop")
    auth = Auth(pool, codec, secure_cookies=False)
    router = SkillRouter(clock=lambda: NOW)
    app = web.Application(middlewares=[errors_middleware])
    app.add_routes(auth.routes())
    app.add_routes(ConsoleApi(pool, auth, send_reply, router, "http://x.test").routes())
    app.add_routes(OpsHttp(pool, auth, router, "http://x.test").routes())
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_reports_api_is_for_admins_and_validates_days(pool: AsyncConnectionPool, tenant: Tenant,
                                                            console: str) -> None:
    await dataset(pool, tenant.id)
    async with pool.connection() as conn:
        await agents.create(conn, tenant.id, email="boss@ops.test", name="Boss", password_hash=hash_password("pw-12345678"),
                            role="admin")
        await agents.create(conn, tenant.id, email="ann@ops.test", name="Ann", password_hash=hash_password("pw-12345678"))
    anonymous = ConsoleClient(console)
    await anonymous.get("/api/reports/overview?days=7", expect=401)
    ann = ConsoleClient(console)
    assert await ann.login("ann@ops.test", "pw-12345678") == 303
    await ann.get("/api/reports/overview?days=7", expect=403)
    boss = ConsoleClient(console)
    assert await boss.login("boss@ops.test", "pw-12345678") == 303
    got = await boss.get("/api/reports/overview?days=7")
    assert {k: got[k] for k in EXPECTED} == EXPECTED
    for bad in ("0", "366", "abc", "-1", "7.5"):
        err = await boss.get(f"/api/reports/overview?days={bad}", expect=422)
        assert err["error"]["field"] == "days"
    assert (await boss.get("/api/reports/overview?days=365"))["totals"]["conversations"] == 6

    # Notifications and availability share the console session.
    assert (await ann.get("/console/api/notifications"))["notifications"] == []
    await ann.post("/console/api/availability", {"available": False})
    await ann.post("/console/api/availability", {"available": True, "agent_id": 1}, expect=403)
    for client in (anonymous, ann, boss):
        await client.close()
