"""The models and digest console APIs over real HTTP: who may call them and what bad input gets back."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from agent_graph.retrain import RETRAIN
from store import digests
from store.digests import DIGEST
from store.tenants import Tenant
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.ops import seed
from tests.servers.gateway import RunningGateway

MODELS = "/console/api/admin/models"
DIGESTS = "/console/api/admin/digests"


async def _client(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, role: str) -> ConsoleClient:
    await make_agent(pool, tenant, f"{role}@{tenant.slug}.test", role=role)
    c = ConsoleClient(gateway.url)
    assert await c.login(f"{role}@{tenant.slug}.test", PASSWORD) == 303
    return c


async def test_models_api_admin_only_validates_the_schedule_and_queues_one_retrain(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    agent = await _client(gateway, pool, tenant, "agent")
    admin = await _client(gateway, pool, tenant, "admin")
    try:
        await agent.get(MODELS, expect=403)
        await agent.post(f"{MODELS}/rollback", expect=403)
        state = await admin.get(MODELS)
        assert state == {"versions": [], "serving": None, "schedule": {"every_days": 7, "min_new_labels": 20},
                         "retrain_job": None}
        err = await admin.post(f"{MODELS}/rollback", expect=409)
        assert err["error"]["code"] == "nothing_to_roll_back"
        await admin.post(f"{MODELS}/retrain", expect=403, csrf=False)
        queued = await admin.post(f"{MODELS}/retrain", expect=202)
        assert queued["queued"] and queued["retrain_job"] is not None
        assert len(await seed.rows(pool, "SELECT 1 FROM jobs WHERE tenant_id = %s AND kind = %s", tenant.id, RETRAIN)) >= 1

        for body, field in (({"every_days": 91}, "every_days"), ({"min_new_labels": -1}, "min_new_labels"),
                            ({"every_days": True}, "every_days"), ({"often": 1}, "often"), ({}, "body"), ([], "body")):
            err = await admin.send("PATCH", f"{MODELS}/schedule", body, expect=422)
            assert err["error"]["field"] == field, body
        state = await admin.send("PATCH", f"{MODELS}/schedule", {"min_new_labels": 5})
        assert state["schedule"] == {"every_days": 7, "min_new_labels": 5}
        assert (await admin.get(MODELS))["schedule"] == {"every_days": 7, "min_new_labels": 5}
    finally:
        await agent.close()
        await admin.close()


async def test_digest_api_is_for_leads_and_admins_and_stays_in_the_tenant(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant
) -> None:
    async with pool.connection() as conn, conn.transaction():
        theirs = await digests.save(conn, other_tenant.id, period_start=seed.T0, period_end=seed.T0.replace(day=10),
                                    trigger="on_demand", figures={"x": 1}, charts={"volume": b"\x89PNG"})
    agent = await _client(gateway, pool, tenant, "agent")
    lead = await _client(gateway, pool, tenant, "lead")
    try:
        await agent.get(DIGESTS, expect=403)
        await agent.post(DIGESTS, expect=403)
        assert await lead.get(DIGESTS) == {"digests": []}
        await lead.get(f"{DIGESTS}/{theirs}", expect=404)  # another tenant's digest does not exist here
        async with lead.http.get(f"{gateway.url}{DIGESTS}/{theirs}/charts/volume.png") as resp:
            assert resp.status == 404
        await lead.get(f"{DIGESTS}/abc", expect=404)
        for body, field in (({"email": "yes"}, "email"), ({"when": "now"}, "body")):
            err = await lead.post(DIGESTS, body, expect=422)
            assert err["error"]["field"] == field
        assert (await lead.post(DIGESTS, {"email": False}, expect=202))["queued"]
        assert len(await seed.rows(pool, "SELECT 1 FROM jobs WHERE tenant_id = %s AND kind = %s", tenant.id, DIGEST)) == 1
    finally:
        await agent.close()
        await lead.close()
