"""Console API additions for the front end: agents for the assign control, the AI's escalation summary,
the managers' dashboards list, and the tenant's categories on /me."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import handoffs
from store.models import Source
from store.tenants import Tenant
from tests import factories as f
from tests.copilot.console_client import ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway


async def test_agents_lists_only_this_tenants_agents(console: ConsoleClient, pool: AsyncConnectionPool,
                                                     tenant: Tenant, other_tenant: Tenant) -> None:
    await make_agent(pool, tenant, f"bea@{tenant.slug}.test")
    await make_agent(pool, other_tenant, f"zed@{other_tenant.slug}.test")
    people = (await console.get("/console/api/agents"))["agents"]
    assert sorted(p["name"] for p in people) == ["ann", "bea"]
    assert all("email" not in p and "password_hash" not in p for p in people)
    me = await console.get("/console/api/me")
    assert "billing" in me["categories"]


async def test_handoff_summary_is_returned_and_scoped_to_the_tenant(
    console: ConsoleClient, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await ingest(pool, f.email(tenant.id, "a@example.com", "I need a human"))
    theirs = await ingest(pool, f.email(other_tenant.id, "b@globex.test", "GLOBEX"))
    assert (await console.get(f"/console/api/conversations/{mine.conversation_id}/handoff"))["handoff"] is None
    async with pool.connection() as conn:
        for t, r in ((tenant, mine), (other_tenant, theirs)):
            await handoffs.save(conn, t.id, r.conversation_id, message_id=r.message_id, reason="asked for a human",
                                reported="cannot log in", tried=["reset link"], likely_cause="expired link",
                                sources=[Source("kb:1#0", "Reset your password", "…", 0.8)],
                                classification={"category": "account"}, assigned_agent_id=None,
                                summary="Login trouble after a reset")
    h = (await console.get(f"/console/api/conversations/{mine.conversation_id}/handoff"))["handoff"]
    assert h["summary"] == "Login trouble after a reset" and h["tried"] == ["reset link"]
    assert h["sources"][0]["title"] == "Reset your password"
    body = await console.get(f"/console/api/conversations/{theirs.conversation_id}/handoff", expect=404)
    assert body["error"]["code"] == "not_found"
    await console.get("/console/api/conversations/abc/handoff", expect=404)


async def test_dashboards_lists_the_grafana_json_files(console: ConsoleClient, gateway: RunningGateway) -> None:
    boards = (await console.get("/console/api/dashboards"))["dashboards"]
    assert {"Switchboard · Operations", "Switchboard · SLA & CSAT"} <= {b["title"] for b in boards}
    assert all(b["file"].startswith("dashboards/") and b["panels"] > 0 for b in boards)
    outsider = ConsoleClient(gateway.url)
    try:
        await outsider.get("/console/api/dashboards", expect=401)
    finally:
        await outsider.close()
