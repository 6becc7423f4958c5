"""The admin API over real HTTP: admins only, CSRF, validation naming the field, tenant isolation, round trips."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import audit, conversations
from store.tenants import Tenant
from tests import factories as f
from tests.copilot.console_client import ConsoleClient
from tests.copilot.test_console_api import PASSWORD, make_agent
from tests.servers.gateway import RunningGateway

A = "/console/api/admin"


async def signed_in(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, name: str,
                    role: str) -> ConsoleClient:
    await make_agent(pool, tenant, f"{name}@{tenant.slug}.test", role=role)
    c = ConsoleClient(gateway.url)
    assert await c.login(f"{name}@{tenant.slug}.test", PASSWORD) == 303
    return c


@pytest.fixture
async def admin(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> AsyncIterator[ConsoleClient]:
    c = await signed_in(gateway, pool, tenant, "ada", "admin")
    yield c
    await c.close()


async def test_agents_and_leads_are_refused_and_writes_need_csrf(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, admin: ConsoleClient
) -> None:
    for role in ("agent", "lead"):
        c = await signed_in(gateway, pool, tenant, f"not-admin-{role}", role)
        try:
            for path in ("/agents", "/settings", "/sla-policies"):
                assert (await c.get(A + path, expect=403))["error"]["code"] == "forbidden"
            await c.post(A + "/agents", {"email": "x@y.test", "name": "X", "password": "long enough pw"}, expect=403)
        finally:
            await c.close()
    body = await admin.send("PATCH", A + "/settings", {"reopen_window_hours": 5}, expect=403, csrf=False)
    assert body["error"]["field"] == "X-CSRF-Token"
    anon = ConsoleClient(gateway.url)
    try:
        await anon.get(A + "/agents", expect=401)
    finally:
        await anon.close()


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "N", "password": "0123456789"}, "email"),
    ({"email": "not-an-email", "name": "N", "password": "0123456789"}, "email"),
    ({"email": "n@x.test", "name": "N", "password": "short"}, "password"),
    ({"email": "n@x.test", "name": "N", "password": "0123456789", "role": "owner"}, "role"),
    ({"email": "n@x.test", "name": "N", "password": "0123456789", "max_load": 101}, "max_load"),
    ({"email": "n@x.test", "name": "N", "password": "0123456789", "max_load": True}, "max_load"),
    ({"email": "n@x.test", "name": "N", "password": "0123456789", "skills": ["ok", "Not OK!"]}, "skills[1]"),
    ({"email": "n@x.test", "name": "", "password": "0123456789"}, "name"),
])
async def test_agent_creation_validation_names_the_field(admin: ConsoleClient, body: dict[str, object],
                                                         field: str) -> None:
    err = (await admin.post(A + "/agents", body, expect=422))["error"]
    assert err["field"] == field, err


async def test_created_agent_can_log_in_and_is_edited_with_availability_requeue(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, admin: ConsoleClient
) -> None:
    email = f"new@{tenant.slug}.test"
    created = (await admin.post(A + "/agents", {"email": email.upper(), "name": "Nia New", "role": "agent",
                                                "skills": ["billing", "Technical"], "max_load": 4,
                                                "password": "a fine password"}, expect=201))["agent"]
    assert created["email"] == email and created["skills"] == ["billing", "technical"] and "password_hash" not in created
    dup = await admin.post(A + "/agents", {"email": email, "name": "Again", "password": "a fine password"}, expect=409)
    assert dup["error"]["field"] == "email"
    listed = (await admin.get(A + "/agents"))["agents"]
    assert [a["email"] for a in listed] == [f"ada@{tenant.slug}.test", email]

    nia = ConsoleClient(gateway.url)
    try:
        assert await nia.login(email, "a fine password") == 303
        assert (await nia.get("/console/api/me"))["agent"]["role"] == "agent"
    finally:
        await nia.close()

    conv = await ingest(pool, f.email(tenant.id, "cus@example.com", "help with my invoice"))
    async with pool.connection() as conn:
        await conversations.assign(conn, tenant.id, conv.conversation_id, created["id"], actor="test")
    patched = await admin.send("PATCH", f"{A}/agents/{created['id']}",
                               {"skills": ["billing"], "max_load": 0, "available": False, "role": "lead"})
    assert patched["agent"] == {**created, "skills": ["billing"], "max_load": 0, "available": False, "role": "lead"}
    assert patched["requeued"] == [conv.conversation_id]  # going away re-queues through the router
    async with pool.connection() as conn:
        assert (await conversations.get(conn, tenant.id, conv.conversation_id)).assignee_id != created["id"]
        actions = [e["action"] for e in await audit.list_for(conn, tenant.id, "agent", created["id"])]
    assert actions == ["agent.created", "agent.updated"]
    err = (await admin.send("PATCH", f"{A}/agents/{created['id']}", {"password_hash": "x"}, expect=422))["error"]
    assert err["field"] == "password_hash"
    me = (await admin.get("/console/api/me"))["agent"]["id"]
    err = (await admin.send("PATCH", f"{A}/agents/{me}", {"role": "agent"}, expect=422))["error"]
    assert err["field"] == "role"


async def test_an_admin_of_another_tenant_cannot_see_or_patch_our_agents(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant, admin: ConsoleClient
) -> None:
    ours = await make_agent(pool, tenant, f"ours@{tenant.slug}.test")
    theirs = await signed_in(gateway, pool, other_tenant, "boss", "admin")
    try:
        listed = (await theirs.get(A + "/agents"))["agents"]
        assert [a["email"] for a in listed] == [f"boss@{other_tenant.slug}.test"]
        for path in (f"{A}/agents/{ours}", f"{A}/agents/abc", f"{A}/agents/99999999"):
            assert (await theirs.send("PATCH", path, {"max_load": 9}, expect=404))["error"]["code"] == "not_found"
        await theirs.send("PATCH", A + "/settings", {"categories": ["globex_only"]})
    finally:
        await theirs.close()
    assert (await admin.get(A + "/settings"))["settings"]["categories"] != ["globex_only"]
    assert next(a for a in (await admin.get(A + "/agents"))["agents"] if a["id"] == ours)["max_load"] == 5


async def test_settings_are_validated_merged_and_visible(admin: ConsoleClient, pool: AsyncConnectionPool,
                                                         tenant: Tenant) -> None:
    before = (await admin.get(A + "/settings"))["settings"]
    assert before["thresholds"]["auto_resolve"] == 0.8 and before["reopen_window_hours"] == 72
    bad = [
        ({"categories": ["a"] * 0 + [f"c{i}" for i in range(31)]}, "categories"),
        ({"categories": ["ok", "Bad Slug"]}, "categories[1]"),
        ({"thresholds": {"auto_resolve": 1.5}}, "thresholds.auto_resolve"),
        ({"thresholds": {"suggest": "high"}}, "thresholds.suggest"),
        ({"thresholds": {"bogus": 0.1}}, "thresholds.bogus"),
        ({"thresholds": {"suggest": 0.9}}, "thresholds.suggest"),  # above auto_resolve 0.8
        ({"safety_rules": [{"name": "x", "pattern": "([", "action": "handoff"}]}, "safety_rules[0].pattern"),
        ({"safety_rules": [{"name": "x", "pattern": "a" * 201, "action": "handoff"}]}, "safety_rules[0].pattern"),
        ({"safety_rules": [{"name": "x", "pattern": "ok", "action": "ignore"}]}, "safety_rules[0].action"),
        ({"reopen_window_hours": 721}, "reopen_window_hours"),
        ({"email_enabled": True}, "email_enabled"),
        ({}, "body"),
    ]
    for body, field in bad:
        err = (await admin.send("PATCH", A + "/settings", body, expect=422))["error"]
        assert err["field"] == field, (body, err)
    assert (await admin.send("PATCH", A + "/settings", "[1]", expect=422))["error"]["field"] == "body"

    rules = [{"name": "legal", "pattern": r"\blawyer|lawsuit\b", "action": "critical"}]
    await admin.send("PATCH", A + "/settings", {"categories": ["billing", "Shipping"], "safety_rules": rules,
                                                "thresholds": {"suggest": 0.5}, "reopen_window_hours": 24})
    after = (await admin.get(A + "/settings"))["settings"]
    assert after == {"categories": ["billing", "shipping"], "safety_rules": rules, "reopen_window_hours": 24,
                     "thresholds": {"auto_resolve": 0.8, "suggest": 0.5, "retrieval_min": 0.35},
                     "costs": {"agent_hour": 30.0, "ai_run": 0.002}}
    assert (await admin.get("/console/api/me"))["categories"] == ["billing", "shipping"]
    async with pool.connection() as conn:
        events = await audit.list_for(conn, tenant.id, "tenant", tenant.id)
    assert [e["action"] for e in events] == ["settings.updated"]


async def test_sla_policies_round_trip(admin: ConsoleClient) -> None:
    assert (await admin.get(A + "/sla-policies"))["policies"] == []
    rows = [
        {"urgency": "critical", "tier": "standard", "first_response_minutes": 15, "resolution_minutes": 120,
         "business_hours": False},
        {"urgency": "critical", "tier": "enterprise", "first_response_minutes": 5, "resolution_minutes": 60,
         "business_hours": True},
        {"urgency": "low", "tier": "standard", "first_response_minutes": 600, "resolution_minutes": 4000,
         "business_hours": False},
    ]
    saved = (await admin.send("PUT", A + "/sla-policies", {"policies": rows}))["policies"]
    key = lambda r: (r["urgency"], r["tier"])  # noqa: E731
    assert sorted(saved, key=key) == sorted(rows, key=key)
    assert sorted((await admin.get(A + "/sla-policies"))["policies"], key=key) == sorted(rows, key=key)
    await admin.send("PUT", A + "/sla-policies", {"policies": rows[:1]})
    assert (await admin.get(A + "/sla-policies"))["policies"] == rows[:1]  # PUT replaces the table
    bad = [
        ({"policies": []}, "policies"),
        ({"policies": [{**rows[0], "first_response_minutes": 0}]}, "policies[0].first_response_minutes"),
        ({"policies": [{**rows[0], "resolution_minutes": -5}]}, "policies[0].resolution_minutes"),
        ({"policies": [{**rows[0], "urgency": "meh"}]}, "policies[0].urgency"),
        ({"policies": [rows[0], rows[0]]}, "policies[1]"),
        ({"policies": [{**rows[0], "first_response_minutes": 200}]}, "policies[0].resolution_minutes"),
    ]
    for body, field in bad:
        assert (await admin.send("PUT", A + "/sla-policies", body, expect=422))["error"]["field"] == field
