"""The incidents API's edges: bad input names its field, another tenant's incident does not exist,
a resolved incident sends no more notices."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from gateway.ops.incidents import IncidentDetector
from store.tenants import Tenant
from tests import factories as f
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.copilot.test_gaps import quiet_gateway  # noqa: F401 (fixture)
from tests.ops.test_incidents import REPORTS, rows
from tests.servers.gateway import RunningGateway


async def test_incident_api_validates_isolates_and_resolve_stops_notices(
        quiet_gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,  # noqa: F811
        other_tenant: Tenant) -> None:
    detector = IncidentDetector(pool, quiet_gateway.url)
    for i in range(3):
        r = await ingest(pool, f.email(other_tenant.id, f"o{i}@customer.test", REPORTS[i]))
        assert (await detector.on_message(other_tenant.id, r.conversation_id, r.message_id)).formed == (i == 2)
    theirs = (await rows(pool, "SELECT id FROM incidents WHERE tenant_id = %s", other_tenant.id))[0]["id"]

    await make_agent(pool, tenant, "ann@acme.test")
    agent = ConsoleClient(quiet_gateway.url)
    assert await agent.login("ann@acme.test", PASSWORD) == 303
    assert (await agent.get("/console/api/incidents"))["incidents"] == []
    await agent.get(f"/console/api/incidents/{theirs}", expect=404)
    await agent.post(f"/console/api/incidents/{theirs}/reply", {"text": "hello"}, expect=404)
    err = await agent.get("/console/api/incidents?status=bogus", expect=422)
    assert err["error"]["field"] == "status"

    mine = [await ingest(pool, f.email(tenant.id, f"m{i}@customer.test", REPORTS[i])) for i in range(3)]
    for r in mine:
        await detector.on_message(tenant.id, r.conversation_id, r.message_id)
    iid = (await agent.get("/console/api/incidents?status=open"))["incidents"][0]["id"]
    assert (await agent.post(f"/console/api/incidents/{iid}/reply", {"text": "  "}, expect=422))["error"]["field"] == "text"
    too_long = await agent.post(f"/console/api/incidents/{iid}/reply", {"text": "x" * 20_001}, expect=422)
    assert too_long["error"]["field"] == "text"

    late = await ingest(pool, f.email(tenant.id, "late@customer.test", REPORTS[3]))
    assert (await detector.on_message(tenant.id, late.conversation_id, late.message_id)).notified
    await agent.post(f"/console/api/incidents/{iid}/resolve")
    await agent.post(f"/console/api/incidents/{iid}/resolve", expect=409)
    after = await ingest(pool, f.email(tenant.id, "after@customer.test", REPORTS[4]))
    found = await detector.on_message(tenant.id, after.conversation_id, after.message_id)
    assert not found.notified and found.incident_id is None
    notices = await rows(pool, "SELECT conversation_id FROM messages WHERE tenant_id = %s AND reply_kind = 'notice'",
                         tenant.id)
    assert [n["conversation_id"] for n in notices] == [late.conversation_id]
    await agent.close()


async def test_incident_thresholds_are_per_tenant_settings(
        quiet_gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> None:  # noqa: F811
    await make_agent(pool, tenant, "boss@acme.test", role="admin")
    await make_agent(pool, tenant, "ann@acme.test")
    admin, agent = ConsoleClient(quiet_gateway.url), ConsoleClient(quiet_gateway.url)
    assert await admin.login("boss@acme.test", PASSWORD) == 303
    assert await agent.login("ann@acme.test", PASSWORD) == 303
    path = "/console/api/admin/incident-settings"
    assert (await admin.get(path))["settings"]["min_reports"] == 3
    await agent.get(path, expect=403)
    for body, field in (({"similarity": 1.5}, "similarity"), ({"min_reports": True}, "min_reports"),
                        ({"notice": ""}, "notice"), ({"bogus": 1}, "bogus")):
        assert (await admin.send("PATCH", path, body, expect=422))["error"]["field"] == field
    changed = await admin.send("PATCH", path, {"min_reports": 2, "notice": "Known outage, we are on it."})
    assert changed["settings"]["min_reports"] == 2 and changed["settings"]["similarity"] == 0.8

    detector = IncidentDetector(pool, quiet_gateway.url)
    for i in range(3):  # two reports now form the incident; the third is told about it
        r = await ingest(pool, f.email(tenant.id, f"s{i}@customer.test", REPORTS[i]))
        found = await detector.on_message(tenant.id, r.conversation_id, r.message_id)
        assert (found.formed, found.notified) == (i == 1, i == 2)
    texts = await rows(pool, "SELECT text FROM messages WHERE tenant_id = %s AND reply_kind = 'notice'", tenant.id)
    assert [t["text"] for t in texts] == ["Known outage, we are on it."]
    await admin.close()
    await agent.close()
