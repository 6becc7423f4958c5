"""The handling KPIs on /metrics (tenant-labelled, exact on the hand-computed data set) and through the
dashboard panels' own queries in a real Prometheus."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import AsyncConnectionPool

from dashboards import build
from store import tenants
from store.tenants import Tenant
from tests.metrics.test_live_prometheus import TOKEN, eventually, scrape
from tests.ops.test_agent_performance import seed_dataset
from tests.servers import prometheus
from tests.servers.gateway import running_gateway

COSTS = {"agent_hour": 36.0, "ai_run": 0.5}
# From tests/ops/test_agent_performance.py: 1760 s over 6 (conversation, agent) pairs; first responses
# 3460 s / 6 by humans, 5 s by the AI; CSAT 17/4 human-resolved, 5 AI-resolved; 5 resolutions, 2 AI runs.
EXPECTED = {
    ("switchboard_handle_time_average_seconds", ()): 1760 / 6,
    ("switchboard_first_response_average_seconds", (("author", "ai"),)): 5.0,
    ("switchboard_first_response_average_seconds", (("author", "human"),)): 3460 / 6,
    ("switchboard_csat_by_resolver_average", (("resolved_by", "ai"),)): 5.0,
    ("switchboard_csat_by_resolver_average", (("resolved_by", "human"),)): 4.25,
    ("switchboard_cost_per_resolution", ()): (1760 / 3600 * 36 + 2 * 0.5) / 5,  # 3.72
}
DEFAULT_COST_PER_RESOLUTION = (1760 / 3600 * 30 + 2 * 0.002) / 5  # the other tenant keeps the default inputs


def samples(exposition: str) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            labels = dict(s.labels)
            tenant = labels.pop("tenant", "")
            out[(s.name, tenant, tuple(sorted(labels.items())))] = s.value
    return out


def panel(title: str, slug: str) -> str:
    for _, panels in build.DASHBOARDS.values():
        for spec in panels:
            if spec.title == title:
                return spec.queries[0].expr.replace("$tenant", slug)
    raise KeyError(title)


async def test_handling_kpis_on_metrics_and_through_prometheus(
        pool: AsyncConnectionPool, dsn: str, tenant: Tenant, other_tenant: Tenant, tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(days=1)
    await seed_dataset(pool, tenant.id, since)
    await seed_dataset(pool, other_tenant.id, since)
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"costs": COSTS})
    async with running_gateway(pool, dsn, tmp_path / "gw", metrics_token=TOKEN) as gw:
        status, exposition = await scrape(gw.url, TOKEN)
        assert status == 200
        got = samples(exposition)
        for (name, labels), value in EXPECTED.items():
            assert got[(name, tenant.slug, labels)] == pytest.approx(value), name
        assert got[("switchboard_cost_per_resolution", other_tenant.slug, ())] == pytest.approx(
            DEFAULT_COST_PER_RESOLUTION)
        assert got[("switchboard_handle_time_average_seconds", other_tenant.slug, ())] == pytest.approx(1760 / 6)

        if not prometheus.available():
            pytest.skip("Debian's prometheus package is not installed; ./run test installs it")
        with prometheus.running_prometheus(tmp_path / "prom", gw.url.removeprefix("http://"), TOKEN) as prom:
            async def value(expr: str) -> list[dict[str, Any]]:
                result = await asyncio.to_thread(prom.query, expr)
                assert result["status"] == "success", result
                return list(result["data"]["result"])

            cost_panel = panel("Cost per resolution (7 days)", tenant.slug)
            rows = await eventually(lambda: value(cost_panel), within=30, what="the cost panel to have data")
            assert float(rows[0]["value"][1]) == pytest.approx(3.72)
            csat = await value(panel("CSAT: AI-resolved vs human-resolved (7 days)", tenant.slug))
            assert {r["metric"]["resolved_by"]: float(r["value"][1]) for r in csat} == pytest.approx(
                {"ai": 5.0, "human": 4.25})
            first = await value(panel("First response: AI vs human (7 days)", tenant.slug))
            assert {r["metric"]["author"]: float(r["value"][1]) for r in first} == pytest.approx(
                {"ai": 5.0, "human": 3460 / 6})
            aht = await value(panel("Average handle time (7 days)", tenant.slug))
            assert float(aht[0]["value"][1]) == pytest.approx(1760 / 6)
