"""Teams with leads, escalation paths reaching their owners, the lead role, and the ladder's "team lead"
and "managers" resolving to real people."""

from __future__ import annotations

from datetime import timedelta

from psycopg_pool import AsyncConnectionPool

from gateway.ops.routing import SkillRouter
from gateway.ops.sla_ladder import SlaLadder
from store.tenants import Tenant
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.ops import seed
from tests.ops.seed import T0
from tests.servers.gateway import RunningGateway

A = "/console/api/admin"


async def signed_in(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, name: str,
                    role: str = "agent") -> tuple[ConsoleClient, int]:
    agent_id = await make_agent(pool, tenant, f"{name}@{tenant.slug}.test", role=role)
    c = ConsoleClient(gateway.url)
    assert await c.login(f"{name}@{tenant.slug}.test", PASSWORD) == 303
    return c, agent_id


async def notified(pool: AsyncConnectionPool, cid: int) -> list[tuple[int, str]]:
    rows = await seed.rows(pool, "SELECT agent_id, kind FROM agent_notifications WHERE conversation_id = %s"
                           " ORDER BY id", cid)
    return [(r["agent_id"], r["kind"]) for r in rows]


async def test_an_escalation_reaches_the_paths_owner_once(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant,
) -> None:
    admin, _ = await signed_in(gateway, pool, tenant, "ada", "admin")
    agent, agent_id = await signed_in(gateway, pool, tenant, "bob")
    sec_lead = await seed.agent(pool, tenant.id, "sec-lead", role="lead")
    sec_member = await seed.agent(pool, tenant.id, "sec-member")
    finance = await seed.agent(pool, tenant.id, "finance")
    stranger = await seed.agent(pool, other_tenant.id, "stranger")
    try:
        team = (await admin.post(f"{A}/teams", {"slug": "security", "name": "Security", "lead_id": sec_lead,
                                                "member_ids": [sec_member], "skills": ["security"]},
                                 expect=201))["team"]
        assert (team["lead_id"], team["member_ids"]) == (sec_lead, [sec_member])
        await admin.post(f"{A}/teams", {"slug": "x", "name": "X", "member_ids": [stranger]}, expect=422)
        bad = await admin.post(f"{A}/escalation-paths", {
            "kind": "billing_dispute", "name": "Finance", "owner": {"agent_id": finance}, "response_minutes": 240,
            "template": "{customer.__class__}"}, expect=422)
        assert bad["error"]["field"] == "template"
        bad = await admin.post(f"{A}/escalation-paths", {
            "kind": "billing_dispute", "name": "Finance", "owner": {"agent_id": stranger}, "response_minutes": 240,
            "template": "x"}, expect=422)
        assert bad["error"]["field"] == "owner.agent_id"
        await admin.post(f"{A}/escalation-paths", {
            "kind": "billing_dispute", "name": "Finance", "owner": {"agent_id": finance}, "response_minutes": 240,
            "template": "Billing dispute from {customer}: {note}"}, expect=201)
        await admin.post(f"{A}/escalation-paths", {
            "kind": "security_incident", "name": "Security team", "owner": {"team_id": team["id"]},
            "response_minutes": 30, "template": "Security incident on #{conversation_id} ({tier}): {note} {link}"},
            expect=201)
        await agent.post(f"{A}/escalation-paths", {}, expect=403)  # admins only
        await admin.send("DELETE", f"{A}/teams/{team['id']}", expect=409)  # a path still belongs to it
        kinds = [p["kind"] for p in (await agent.get("/console/api/escalation-paths"))["paths"]]
        assert kinds == ["billing_dispute", "security_incident"]
        async with agent.http.get(f"{gateway.url}/console/static/escalation.js") as resp:
            assert resp.status == 200 and "/escalate" in await resp.text()  # the console's control

        cust = await seed.customer(pool, tenant.id, tier="enterprise")
        cid = await seed.conversation(pool, tenant.id, customer_id=cust, status="assigned", assignee_id=agent_id)
        path = f"/console/api/conversations/{cid}/escalate"
        body = await agent.post(path, {"kind": "security_incident", "note": "leaked API key"}, expect=201)
        assert body["fired"] and len(body["escalations"]) == 1
        again = await agent.post(path, {"kind": "security_incident", "note": "leaked API key"}, expect=200)
        assert not again["fired"]  # asked twice in one episode: fired once
        assert (await agent.post(path, {"kind": "nope"}, expect=422))["error"]["field"] == "kind"
        await agent.post("/console/api/conversations/999999999/escalate", {"kind": "security_incident"}, expect=404)
    finally:
        await admin.close()
        await agent.close()

    assert await notified(pool, cid) == [(sec_lead, "escalation"), (sec_member, "escalation")]  # lead, then members
    [esc] = await seed.rows(pool, "SELECT message, respond_by, created_at FROM escalations WHERE conversation_id = %s",
                            cid)
    assert esc["respond_by"] - esc["created_at"] == timedelta(minutes=30)
    assert esc["message"].startswith(f"Security incident on #{cid} (enterprise): leaked API key http")
    assert f"/console#/c/{cid}" in esc["message"]
    notes = await seed.rows(pool, "SELECT text FROM messages WHERE conversation_id = %s AND direction = 'internal'",
                            cid)
    assert [n["text"][:28] for n in notes] == ["Escalated to Security team ("]
    [conv] = await seed.rows(pool, "SELECT escalated_at, queue_priority FROM conversations WHERE id = %s", cid)
    assert conv["escalated_at"] is not None and conv["queue_priority"] >= 2
    # Nothing customer-facing was queued by an escalation.
    assert await seed.rows(pool, "SELECT 1 FROM outbox WHERE conversation_id = %s", cid) == []


async def test_the_ladder_tells_the_assignees_team_lead_and_then_managers(
    pool: AsyncConnectionPool, tenant: Tenant,
) -> None:
    billing_lead = await seed.agent(pool, tenant.id, "billing-lead", role="lead", available=False)
    other_lead = await seed.agent(pool, tenant.id, "other-lead", role="lead", available=False)
    admin = await seed.agent(pool, tenant.id, "admin", role="admin", available=False)
    owner = await seed.agent(pool, tenant.id, "owner")
    backup = await seed.agent(pool, tenant.id, "backup")
    async with pool.connection() as conn:
        for slug, lead, members in (("billing", billing_lead, [owner]), ("tech", other_lead, [backup])):
            cur = await conn.execute("INSERT INTO teams (tenant_id, slug, name, lead_id) VALUES (%s, %s, %s, %s)"
                                     " RETURNING id", (tenant.id, slug, slug, lead))
            team = await cur.fetchone()
            assert team
            for m in members:
                await conn.execute("INSERT INTO team_members (tenant_id, team_id, agent_id) VALUES (%s, %s, %s)",
                                   (tenant.id, team["id"], m))
    cid = await seed.conversation(pool, tenant.id, status="assigned", urgency="high", assignee_id=owner)
    ladder = SlaLadder(pool, SkillRouter(clock=lambda: T0), on_event=lambda *_: None)
    await ladder.tick(tenant.id, now=T0 + timedelta(minutes=55))  # 90 %: the owner never answered
    told = await notified(pool, cid)
    assert (billing_lead, "sla_at_risk") in told  # the lead of the team the silent agent is on…
    assert (other_lead, "sla_at_risk") not in told  # …not every lead
    await ladder.tick(tenant.id, now=T0 + timedelta(minutes=61))
    breach = [a for a, kind in await notified(pool, cid) if kind == "sla_breach"]
    # Reassigned to backup at 90 %: the breach goes to backup's team lead and the admins.
    assert sorted(breach) == sorted([other_lead, admin])


async def test_leads_see_their_own_teams_report_and_admins_every_team(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,
) -> None:
    admin, _ = await signed_in(gateway, pool, tenant, "ada", "admin")
    lead, lead_id = await signed_in(gateway, pool, tenant, "lee", "lead")
    other, other_id = await signed_in(gateway, pool, tenant, "ola", "lead")
    agent, agent_id = await signed_in(gateway, pool, tenant, "bob")
    try:
        team = (await admin.post(f"{A}/teams", {"slug": "support", "name": "Support", "lead_id": lead_id,
                                                "member_ids": [agent_id]}, expect=201))["team"]
        await seed.conversation(pool, tenant.id, status="assigned", assignee_id=agent_id)
        report = await lead.get(f"/console/api/teams/{team['id']}/report")
        assert [(p["id"], p["open"]) for p in report["people"]] == [(lead_id, 0), (agent_id, 1)]
        assert (await admin.get(f"/console/api/teams/{team['id']}/report?days=30"))["days"] == 30
        await other.get(f"/console/api/teams/{team['id']}/report", expect=404)  # not their team
        await agent.get(f"/console/api/teams/{team['id']}/report", expect=403)  # agents: no reports
        await lead.get(f"{A}/teams", expect=403)  # leads do not manage teams
        moved = await admin.send("PATCH", f"{A}/teams/{team['id']}", {"lead_id": other_id, "member_ids": []})
        assert moved["team"]["member_ids"] == [] and moved["team"]["lead_id"] == other_id
        await lead.get(f"/console/api/teams/{team['id']}/report", expect=404)
    finally:
        for c in (admin, lead, other, agent):
            await c.close()
