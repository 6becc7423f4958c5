"""Customer attributes: admin edits and CSV import (bad rows reported, the rest imported), the console's
customer panel, and SLA policies keyed on the plan tier."""

from __future__ import annotations

import argparse
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp
from psycopg_pool import AsyncConnectionPool

from gateway.customers_cli import run_on as cli_import
from gateway.ops.routing import SkillRouter
from gateway.ops.sla_ladder import SlaLadder
from store import api_tokens, customers, sla
from store.models import ClaimSource, IdentityClaim, IdentityKind
from store.tenants import Tenant
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.ops import seed
from tests.ops.seed import T0
from tests.servers.gateway import RunningGateway

CSV = (
    "email,name,plan_tier,account_value,customer_since,region,attr.crm_owner\n"
    "old@acme.test,Old Acme,enterprise,125000.50,2019-04-01,EMEA,dana\n"  # line 2: existing customer
    "new@beta.test,Beta,starter,900,2023-01-15,NA,\n"                   # line 3: creates a customer
    "bad-value@x.test,X,pro,-5,2020-01-01,APAC,\n"                       # line 4: negative value
    "bad-date@x.test,X,pro,10,2020-13-40,APAC,\n"                        # line 5: impossible date
    "bad-tier@x.test,X,Gold Plan!,10,,,\n"                               # line 6: tier not a slug
    ",No key,pro,10,,,\n"                                                # line 7: nobody named
    '"quoted@gamma.test","Gamma, Inc.",pro,"1,234.00",,"LATAM",\n'       # line 8: quoted cells
)


async def admin_client(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, name: str = "ada",
                       role: str = "admin") -> ConsoleClient:
    await make_agent(pool, tenant, f"{name}@{tenant.slug}.test", role=role)
    c = ConsoleClient(gateway.url)
    assert await c.login(f"{name}@{tenant.slug}.test", PASSWORD) == 303
    return c


async def post_csv(c: ConsoleClient, text: str, expect: int = 200) -> dict:
    async with c.http.post(f"{c.base}/console/api/admin/customers/import", data=text.encode(),
                           headers={"X-CSRF-Token": c.csrf, "Content-Type": "text/csv"}) as resp:
        assert resp.status == expect, (resp.status, await resp.text())
        return await resp.json()


async def email_customer(pool: AsyncConnectionPool, tenant_id: int, email: str) -> int:
    async with pool.connection() as conn:
        r = await customers.resolve(conn, tenant_id, (IdentityClaim(IdentityKind.EMAIL, email,
                                                                     ClaimSource.EMAIL_FROM),), actor="test")
    return r.customer_id


async def test_csv_import_reports_bad_rows_by_line_and_field_and_imports_the_rest(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant,
) -> None:
    existing = await email_customer(pool, tenant.id, "old@acme.test")
    elsewhere = await email_customer(pool, other_tenant.id, "old@acme.test")
    admin = await admin_client(gateway, pool, tenant)
    agent = await admin_client(gateway, pool, tenant, "bob", "agent")
    try:
        await post_csv(agent, CSV, expect=403)  # admins only
        report = await post_csv(admin, CSV)
    finally:
        await admin.close()
        await agent.close()
    assert (report["rows"], report["imported"], report["created"], report["failed"]) == (7, 3, 2, 4)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (4, "account_value"), (5, "customer_since"), (6, "plan_tier"), (7, "customer_id")]

    rows = await seed.rows(pool, "SELECT i.value, c.id, c.plan_tier, c.account_value, c.customer_since, c.region,"
                           " c.attributes FROM customers c JOIN identities i ON i.tenant_id = c.tenant_id"
                           " AND i.customer_id = c.id WHERE c.tenant_id = %s AND i.kind = 'email' ORDER BY i.value",
                           tenant.id)
    by_email = {r["value"]: r for r in rows}
    assert set(by_email) == {"old@acme.test", "new@beta.test", "quoted@gamma.test"}  # no bad row left a customer
    old = by_email["old@acme.test"]
    assert old["id"] == existing and old["plan_tier"] == "enterprise" and old["account_value"] == Decimal("125000.50")
    assert old["customer_since"].isoformat() == "2019-04-01" and old["region"] == "EMEA"
    assert old["attributes"] == {"crm_owner": "dana"}
    assert by_email["quoted@gamma.test"]["account_value"] == Decimal("1234.00")
    assert by_email["new@beta.test"]["attributes"] == {}  # empty cells leave attributes alone
    [other] = await seed.rows(pool, "SELECT plan_tier FROM customers WHERE id = %s", elsewhere)
    assert other["plan_tier"] is None  # the other tenant's customer with the same email is untouched


async def test_a_file_without_a_key_column_or_with_unknown_columns_is_refused_whole(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,
) -> None:
    admin = await admin_client(gateway, pool, tenant)
    try:
        body = await post_csv(admin, "name,plan_tier\nA,pro\n", expect=422)
        assert body["error"]["field"] == "header"
        body = await post_csv(admin, "email,tier\na@b.test,pro\n", expect=422)
        assert body["error"]["field"] == "header.tier"
        body = await post_csv(admin, "email,region\na@b.test,EU\x00\n", expect=422)
        assert body["error"]["field"] == "file"  # PostgreSQL text cannot hold NUL: refused, not a 500
        async with admin.http.post(f"{admin.base}/console/api/admin/customers/import", json={"csv": "x"},
                                   headers={"X-CSRF-Token": admin.csrf}) as resp:
            assert resp.status == 415
    finally:
        await admin.close()
    assert await seed.rows(pool, "SELECT 1 FROM customers WHERE tenant_id = %s", tenant.id) == []


async def test_cli_import_reports_line_and_field_and_imports_good_rows(
    pool: AsyncConnectionPool, tenant: Tenant, tmp_path: Path, capsys: object,
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("external_id,plan_tier,account_value\ncrm-1,enterprise,10\ncrm-2,pro,lots\n", encoding="utf-8")
    args = argparse.Namespace(tenant=tenant.slug, file=path, json=False)
    async with pool.connection() as conn:
        assert await cli_import(conn, args) == 1  # some rows failed
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert f"{path}:3: account_value:" in err
    rows = await seed.rows(pool, "SELECT i.value, c.plan_tier FROM customers c JOIN identities i ON"
                           " i.customer_id = c.id WHERE c.tenant_id = %s", tenant.id)
    assert [(r["value"], r["plan_tier"]) for r in rows] == [("import:crm-1", "enterprise")]


async def test_admins_edit_attributes_and_the_customer_panel_shows_them(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,
) -> None:
    cust = await email_customer(pool, tenant.id, "panel@acme.test")
    cid = await seed.conversation(pool, tenant.id, customer_id=cust, status="pending_agent")
    admin = await admin_client(gateway, pool, tenant)
    agent = await admin_client(gateway, pool, tenant, "bob", "agent")
    path = f"/console/api/admin/customers/{cust}/attributes"
    try:
        bad = await admin.send("PATCH", path, {"account_value": "12.345", "region": "x" * 65}, expect=422)
        assert [f["field"] for f in bad["error"]["fields"]] == ["account_value", "region"]
        bad = await admin.send("PATCH", path, {"region": "EU\u0000", "attributes": {"x": "\ud800"}}, expect=422)
        assert [f["field"] for f in bad["error"]["fields"]] == ["region", "attributes.x"]
        bad = await admin.send("PATCH", path, {"attributes": {f"k{i}": i for i in range(51)}}, expect=422)
        assert bad["error"]["field"] == "attributes"
        await agent.send("PATCH", path, {"plan_tier": "enterprise"}, expect=403)
        saved = await admin.send("PATCH", path, {"plan_tier": "Enterprise", "account_value": 5000,
                                                 "customer_since": "2021-06-01", "region": "EMEA",
                                                 "attributes": {"csm": "dana", "seats": 40}})
        assert saved["plan_tier"] == "enterprise" and saved["attributes"] == {"csm": "dana", "seats": 40}
        saved = await admin.send("PATCH", path, {"attributes": {"seats": None}})
        assert saved["attributes"] == {"csm": "dana"}
        detail = await agent.get(f"/console/api/conversations/{cid}")
        attrs = detail["customer"]["attributes"]
        assert (attrs["plan_tier"], attrs["account_value"], attrs["customer_since"], attrs["region"]) == (
            "enterprise", 5000.0, "2021-06-01", "EMEA")
        assert (await agent.get(f"/console/api/customers/{cust}/attributes"))["attributes"] == {"csm": "dana"}
        await agent.get("/console/api/customers/999999999/attributes", expect=404)
        async with aiohttp.ClientSession() as anon, anon.get(f"{gateway.url}/console/static/customer_attributes.js") as r:
            assert r.status == 200 and "sb:customer" in await r.text()
    finally:
        await admin.close()
        await agent.close()


async def test_a_top_tier_customer_gets_the_tighter_sla(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    async with pool.connection() as conn:
        # Seed S4: the top plan is promised a 1-hour first response, whatever the urgency.
        await sla.set_policy(conn, tenant.id, sla.ANY_URGENCY, tier="enterprise", first_response_minutes=60,
                             resolution_minutes=600)
        await sla.set_policy(conn, tenant.id, "critical", tier="enterprise", first_response_minutes=15,
                             resolution_minutes=120)
    top = await seed.customer(pool, tenant.id, tier="enterprise")
    plain = await seed.customer(pool, tenant.id)
    top_medium = await seed.conversation(pool, tenant.id, customer_id=top, urgency="medium")
    top_critical = await seed.conversation(pool, tenant.id, customer_id=top, urgency="critical")
    top_high = await seed.conversation(pool, tenant.id, customer_id=top, urgency="high")
    plain_medium = await seed.conversation(pool, tenant.id, customer_id=plain, urgency="medium")
    await SlaLadder(pool, SkillRouter(clock=lambda: T0)).tick(tenant.id, now=T0 + timedelta(minutes=1))
    due = {r["id"]: (r["sla_first_response_due"], r["sla_resolution_due"]) for r in await seed.rows(
        pool, "SELECT id, sla_first_response_due, sla_resolution_due FROM conversations WHERE tenant_id = %s",
        tenant.id)}
    hours = lambda h: T0 + timedelta(hours=h)  # noqa: E731
    assert due[top_medium] == (hours(1), hours(10))  # tier-wide promise beats medium's 4 h / 24 h
    assert due[plain_medium] == (hours(4), hours(24))  # the default
    assert due[top_critical] == (T0 + timedelta(minutes=15), hours(2))  # the tier × urgency row wins outright
    assert due[top_high] == (hours(1), hours(8))  # never looser than the urgency's own target (high: 8 h)


async def test_rest_api_reads_and_writes_attributes_with_the_same_validation(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant,
) -> None:
    cust = await email_customer(pool, tenant.id, "rest@acme.test")
    foreign = await email_customer(pool, other_tenant.id, "rest@acme.test")
    async with pool.connection() as conn:
        _, writer = await api_tokens.create(conn, tenant.id, name="crm", scopes=api_tokens.parse_scopes("read,write"),
                                            created_by="test")
        _, reader = await api_tokens.create(conn, tenant.id, name="bi", scopes=api_tokens.parse_scopes("read"),
                                            created_by="test")
    url = f"{gateway.url}/api/v1/customers/{cust}/attributes"

    async def call(method: str, target: str, secret: str, body: object = None) -> tuple[int, dict]:
        async with aiohttp.ClientSession() as http, http.request(
                method, target, json=body, headers={"Authorization": f"Bearer {secret}"}) as resp:
            return resp.status, await resp.json()

    status, body = await call("PATCH", url, writer, {"customer_since": "2999-01-01"})
    assert (status, body["error"]["field"]) == (422, "customer_since")
    status, body = await call("PATCH", url, writer, {"tier": "gold"})
    assert (status, body["error"]["field"]) == (422, "tier")
    assert (await call("PATCH", url, reader, {"plan_tier": "gold"}))[0] == 403
    status, body = await call("PATCH", url, writer, {"plan_tier": "gold", "account_value": "1200.5",
                                                     "attributes": {"seats": 12}})
    assert status == 200 and (body["plan_tier"], body["account_value"], body["attributes"]) == ("gold", 1200.5,
                                                                                                {"seats": 12})
    status, body = await call("GET", url, reader)
    assert status == 200 and body["customer_id"] == cust and body["region"] is None
    foreign_url = f"{gateway.url}/api/v1/customers/{foreign}/attributes"
    assert (await call("GET", foreign_url, reader))[0] == 404  # another tenant's customer
