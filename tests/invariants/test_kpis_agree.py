"""The reports API and the Grafana panels (through a real Prometheus scraping a real gateway with its
token) agree on a scripted scenario, and both equal figures computed by hand. Another tenant's data
sits in the same database: with the dashboards' ``$tenant`` variable set to one tenant, its panels
show that tenant alone.

Scenario (tenant T, all created within the 7-day window; "now" is when it is seeded):
  c1 chat   resolved       first response 60 s (due 1 h: met), resolved 600 s (due 8 h: met), no human
  c2 email  closed         first response 300 s (due 30 min: met), resolved 2 h (due 1 h: breached),
                           handed off, an agent wrote
  c3 chat   assigned       first response 120 s (due 4 h: met), resolution due in 4 h (pending), handed off
  c4 slack  pending_agent  no first response, due 8 h after creation 5 days ago (breached), resolution
                           due 48 h (breached), handed off
  CSAT (chat): c1 → 5, c2 → 2.   Drafts on c2: accepted, edited, discarded.
By hand: first-response compliance 3/4 = 0.75; resolution 1/(1+2) = 1/3; auto-resolution 1/4;
handoff 3/4; CSAT average 3.5; suggestions 1 accepted, 1 edited, 1 discarded (adoption 2/3).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from copilot.passwords import hash_password
from store import agents
from store.tenants import Tenant
from tests.copilot.console_client import ConsoleClient
from tests.metrics.test_live_prometheus import eventually, panel_queries, scrape
from tests.ops import seed
from tests.servers import prometheus
from tests.servers.gateway import running_gateway

pytestmark = pytest.mark.skipif(not prometheus.available(),
                                reason="Debian's prometheus package is not installed; ./run test installs it")
TOKEN = "kpi-agreement-scrape-token-0123456789"
D, H, M, S = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)

BY_HAND = {"first_response": 0.75, "resolution": 1 / 3, "auto": 0.25, "handoff": 0.75, "csat": 3.5,
           "accepted": 1, "edited": 1, "discarded": 1}
OUTCOMES = ("accepted", "edited", "discarded")
PANELS = {  # dashboard panel title → what it shows
    "First-response SLA compliance (7 days)": "first_response",
    "Resolution SLA compliance (7 days)": "resolution",
    "Auto-resolution rate (7 days)": "auto",
    "Handoff rate (7 days)": "handoff",
    "CSAT average by channel (7 days)": "csat",
    "Suggestion adoption (all time)": "suggestions",
}


async def scenario(pool: AsyncConnectionPool, tenant_id: int, now: datetime) -> None:
    async def conv(created: datetime, **cols: Any) -> int:
        return await seed.conversation(pool, tenant_id, created_at=created, **cols)

    c1, c2, c3, c4 = now - 2 * D, now - 3 * D, now - 20 * H, now - 5 * D
    ids = {
        "c1": await conv(c1, channel="chat", status="resolved", first_response_at=c1 + 60 * S,
                         resolved_at=c1 + 600 * S, sla_first_response_due=c1 + H, sla_resolution_due=c1 + 8 * H),
        "c2": await conv(c2, channel="email", status="closed", first_response_at=c2 + 300 * S,
                         resolved_at=c2 + 2 * H, sla_first_response_due=c2 + 30 * M, sla_resolution_due=c2 + H),
        "c3": await conv(c3, channel="chat", status="assigned", first_response_at=c3 + 120 * S,
                         sla_first_response_due=c3 + 4 * H, sla_resolution_due=c3 + 24 * H),
        "c4": await conv(c4, channel="slack", status="pending_agent", sla_first_response_due=c4 + 8 * H,
                         sla_resolution_due=c4 + 48 * H),
    }
    async with pool.connection() as conn:
        for name in ("c2", "c3", "c4"):
            await conn.execute("INSERT INTO status_changes (tenant_id, conversation_id, from_status, to_status, actor)"
                               " VALUES (%s, %s, 'ai_active', 'pending_agent', 'ai')", (tenant_id, ids[name]))
        await conn.execute("INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, channel,"
                           " text) VALUES (%s, %s, 1, 'out', 'agent', 'email', 'hi')", (tenant_id, ids["c2"]))
        for name, score in (("c1", 5), ("c2", 2)):
            await conn.execute("INSERT INTO csat_responses (tenant_id, conversation_id, score, channel, actor,"
                               " created_at) VALUES (%s, %s, %s, 'chat', 'test', %s)",
                               (tenant_id, ids[name], score, now - H))
        for outcome in ("accepted", "edited", "discarded"):
            await conn.execute("INSERT INTO suggestions (tenant_id, conversation_id, text, outcome, created_at)"
                               " VALUES (%s, %s, 'draft', %s, %s)", (tenant_id, ids["c2"], outcome, now - H))


async def noise(pool: AsyncConnectionPool, tenant_id: int, now: datetime) -> None:
    """The other tenant: figures that would move every T panel if tenants were mixed."""
    for k in range(3):
        created = now - (k + 1) * H
        cid = await seed.conversation(pool, tenant_id, created_at=created, channel="chat", status="resolved",
                                      first_response_at=created + 10 * S, resolved_at=created + 20 * S,
                                      sla_first_response_due=created - H, sla_resolution_due=created - H)
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO csat_responses (tenant_id, conversation_id, score, channel, actor,"
                               " created_at) VALUES (%s, %s, 1, 'chat', 'test', %s)", (tenant_id, cid, now - H))
            await conn.execute("INSERT INTO suggestions (tenant_id, conversation_id, text, outcome, created_at)"
                               " VALUES (%s, %s, 'draft', 'discarded', %s)", (tenant_id, cid, now - H))


async def test_reports_api_and_prometheus_panels_agree_with_the_hand_computed_figures(
        pool: AsyncConnectionPool, dsn: str, tenant: Tenant, other_tenant: Tenant, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    await scenario(pool, tenant.id, now)
    await noise(pool, other_tenant.id, now)
    async with pool.connection() as conn:
        await agents.create(conn, tenant.id, email="lead@kpi.test", name="Lead",
                            password_hash=hash_password("pw-12345678"), role="admin")

    async with running_gateway(pool, dsn, tmp_path / "gw", metrics_token=TOKEN, run_workers=False) as gw:
        lead = ConsoleClient(gw.url)
        try:
            assert await lead.login("lead@kpi.test", "pw-12345678") == 303
            report = await lead.get("/api/reports/overview?days=7")
        finally:
            await lead.close()
        from_api = {
            "first_response": report["sla"]["targets"]["first_response"]["compliance_percent"] / 100,
            "resolution": report["sla"]["targets"]["resolution"]["compliance_percent"] / 100,
            "auto": report["auto_resolution_rate"], "handoff": report["handoff_rate"],
            "csat": report["csat"]["average"],
            **{k: report["suggestions"][k] for k in OUTCOMES},
        }
        assert from_api == pytest.approx(BY_HAND, abs=1e-4)
        assert report["totals"]["conversations"] == 4

        assert (await scrape(gw.url, None))[0] == 401
        with prometheus.running_prometheus(tmp_path / "prom", gw.url.removeprefix("http://"), TOKEN) as prom:
            async def target_up() -> bool:
                return await asyncio.to_thread(prom.targets_up)

            await eventually(target_up, within=30, what="Prometheus to scrape the gateway with its token")
            queries = {where.split(" / ", 1)[1]: expr for where, expr in panel_queries(tenant.slug)}

            async def panel(title: str) -> Any:
                result = await asyncio.to_thread(prom.query, queries[title])
                assert result["status"] == "success", (title, result)
                series = result["data"]["result"]
                if PANELS[title] == "suggestions":
                    return {s["metric"]["outcome"]: float(s["value"][1]) for s in series}
                return {PANELS[title]: float(series[0]["value"][1])} if series else {}

            from_panels: dict[str, float] = {}

            async def all_panels() -> bool:
                from_panels.clear()
                for title in PANELS:
                    from_panels.update(await panel(title))
                return set(from_panels) >= set(BY_HAND)

            await eventually(all_panels, within=60, what="every panel to show data")
            assert from_panels == pytest.approx(BY_HAND, abs=1e-4)
            assert from_panels == pytest.approx(from_api, abs=1e-4)
