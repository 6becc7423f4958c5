"""Classify as a service returns the agent graph's labels for the same text, with KB sources."""

from __future__ import annotations

import aiohttp
from psycopg_pool import AsyncConnectionPool

from agent_graph.runner import AgentRunner
from store.tenants import Tenant
from tests.agent_graph.conftest import say
from tests.api.conftest import call, make_token
from tests.servers.gateway import RunningGateway

TEXTS = (
    "I was charged twice for my subscription this month, please refund the duplicate payment",
    "I can't log in, the password reset email never arrives",
    "The export button crashes the app every time, this is unacceptable and urgent!!",
)


async def _count(pool: AsyncConnectionPool, tenant_id: int) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT count(*) AS n FROM conversations WHERE tenant_id = %s",
                                        (tenant_id,))).fetchone()
    assert row is not None
    return int(row["n"])


async def test_same_labels_as_the_graph(api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
                                        kb_tenant: Tenant, runner: AgentRunner) -> None:
    token = await make_token(pool, kb_tenant.id, "classify")
    for i, text in enumerate(TEXTS):
        before = await _count(pool, kb_tenant.id)
        status, _, got = await call(http, "POST", f"{api.url}/api/v1/classify", token, json={"body": text})
        assert status == 200, got
        assert await _count(pool, kb_tenant.id) == before  # no conversation created
        res = await say(pool, kb_tenant, text, who=f"c{i}@example.com")
        outcome = await runner.run(kb_tenant.id, res.conversation_id, res.message_id)
        graph = outcome.classification
        assert graph is not None
        assert (got["category"]["label"], got["urgency"]["label"], got["sentiment"]["label"],
                got["complexity"]["label"], got["language"]["label"], tuple(got["skills"])) == (
            graph.category, graph.urgency, graph.sentiment, graph.complexity, graph.language, graph.skills), text
        assert abs(got["category"]["confidence"] - graph.category_confidence) < 1e-3
        assert got["top_categories"][0]["label"] == graph.category


async def test_sources_and_batch(api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
                                 kb_tenant: Tenant) -> None:
    token = await make_token(pool, kb_tenant.id, "classify")
    url = f"{api.url}/api/v1/classify"
    _, _, one = await call(http, "POST", url, token, json={"subject": "Login", "body": TEXTS[1]})
    assert one["sources"] and all(s["id"].startswith("kb:") for s in one["sources"])
    assert any("password" in (s["title"] + s["snippet"]).lower() for s in one["sources"])
    status, _, batch = await call(http, "POST", url, token, json={"items": [{"body": t} for t in TEXTS]})
    assert status == 200 and len(batch["results"]) == len(TEXTS)
    _, _, single = await call(http, "POST", url, token, json={"body": TEXTS[2]})
    assert batch["results"][2] == single
    status, _, err = await call(http, "POST", url, token, json={"items": [{"body": "x"}] * 101})
    assert status == 422 and err["error"]["field"] == "items"
    status, _, err = await call(http, "POST", url, token, json={"subject": "only a subject"})
    assert status == 422 and err["error"]["field"] == "body"
