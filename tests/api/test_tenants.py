"""Tenant onboarding (CLI and HTTP), the one-time password link, export, and deletion over HTTP."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from psycopg_pool import AsyncConnectionPool

from gateway.cli import _parser
from gateway.ingest import ingest
from gateway.tenant_cli import run_on
from store import agents, sla, tenants
from store.tenants import DEFAULT_CATEGORIES, Tenant
from tests import factories as f
from tests.api.conftest import PLATFORM_TOKEN, call, make_token
from tests.api.leftovers import tenant_rows
from tests.copilot.console_client import ConsoleClient
from tests.servers.gateway import RunningGateway

NEW_PASSWORD = "a long new password"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def form(http: aiohttp.ClientSession, method: str, url: str, data: dict[str, str] | None = None
               ) -> tuple[int, str]:
    async with http.request(method, url, data=data, allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_cli_onboarding_then_the_link_sets_the_password_and_the_admin_signs_in(
        api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool, capsys: Any) -> None:
    args = _parser().parse_args(["tenant", "create", "Initech Ltd", "--admin-email", "Peter@Initech.test"])
    assert await run_on(pool, args, base_url=api.url) == 0
    out = capsys.readouterr().out
    link = re.search(r"^(http://\S+/console/set-password/\S+)$", out, re.M)
    assert link and "tenant initech-ltd" in out, out
    link = link.group(1)

    async with pool.connection() as conn:
        tenant = await tenants.by_slug(conn, "initech-ltd")
        assert tenant is not None
        admin = await agents.login_record(conn, "peter@initech.test")
        policies = await sla.policies(conn, tenant.id)
    assert admin is not None and admin["role"] == "admin" and admin["tenant_id"] == tenant.id
    assert tenant.setting("categories") == list(DEFAULT_CATEGORIES) and tenant.setting("safety_defaults") is True
    assert {p["urgency"] for p in policies} == set(sla.DEFAULT_POLICIES)

    console = ConsoleClient(api.url)
    try:
        assert await console.login("peter@initech.test", NEW_PASSWORD) == 401  # no password until the link
        # Opening the link (a mail scanner would) changes nothing; only the form's POST does.
        for _ in range(2):
            status, page = await form(http, "GET", link)
            assert status == 200 and "peter@initech.test" in page and 'method="post"' in page
        status, page = await form(http, "POST", link, {"password": NEW_PASSWORD, "confirm": "something else"})
        assert status == 422 and "differ" in page
        status, page = await form(http, "POST", link, {"password": "short", "confirm": "short"})
        assert status == 422
        status, page = await form(http, "POST", link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert status == 200 and "Password set" in page
        status, _ = await form(http, "POST", link, {"password": "another password 1", "confirm": "another password 1"})
        assert status == 410  # used up
        assert (await form(http, "GET", link))[0] == 410
        assert await console.login("peter@initech.test", NEW_PASSWORD) == 303
        me = await console.get("/console/api/me")
        assert me["agent"]["role"] == "admin" and me["agent"]["slug"] == "initech-ltd"
    finally:
        await console.close()

    assert await run_on(pool, args, base_url=api.url) == 2  # the slug is taken now
    assert "slug" in capsys.readouterr().err


async def test_http_onboarding_is_for_the_platform_operator_only(
        platform_api: RunningGateway, api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
        kb_tenant: Tenant) -> None:
    url = f"{platform_api.url}/api/v1/tenants"
    body = {"slug": "hooli", "name": "Hooli", "admin_email": "gavin@hooli.test", "admin_name": "Gavin"}
    tenant_admin = await make_token(pool, kb_tenant.id, "admin")
    assert (await call(http, "POST", url, json=body))[0] == 401
    assert (await call(http, "POST", url, "not-the-token", json=body))[0] == 401
    status, _, err = await call(http, "POST", url, tenant_admin, json=body)
    assert status == 403 and "tenant tokens cannot manage tenants" in err["error"]["message"]
    # A gateway without SWITCHBOARD_PLATFORM_ADMIN_TOKEN refuses everyone.
    status, _, err = await call(http, "POST", f"{api.url}/api/v1/tenants", PLATFORM_TOKEN, json=body)
    assert status == 403 and "SWITCHBOARD_PLATFORM_ADMIN_TOKEN" in err["error"]["message"]

    for bad, field in (({**body, "slug": "Not A Slug"}, "slug"), ({**body, "admin_email": "nobody"}, "admin_email"),
                       ({**body, "extra": 1}, "extra"), ({k: v for k, v in body.items() if k != "name"}, "name")):
        status, _, err = await call(http, "POST", url, PLATFORM_TOKEN, json=bad)
        assert status == 422 and err["error"]["field"] == field, err

    status, _, created = await call(http, "POST", url, PLATFORM_TOKEN, json=body)
    assert status == 201, created
    assert created["slug"] == "hooli" and created["admin_email"] == "gavin@hooli.test"
    assert created["password_link"].startswith(f"{platform_api.url}/console/set-password/")
    status, _, err = await call(http, "POST", url, PLATFORM_TOKEN, json=body)
    assert status == 409 and err["error"]["field"] == "slug"
    status, _, err = await call(http, "POST", url, PLATFORM_TOKEN, json={**body, "slug": "hooli-2"})
    assert status == 409 and err["error"]["field"] == "admin_email"
    status, _ = await form(http, "POST", created["password_link"], {"password": NEW_PASSWORD,
                                                                    "confirm": NEW_PASSWORD})
    assert status == 200

    # Deletion: platform operator only, and it leaves no row of the tenant behind.
    delete_url = f"{platform_api.url}/api/v1/tenants/hooli"
    assert (await call(http, "DELETE", delete_url, tenant_admin))[0] == 403
    status, _, done = await call(http, "DELETE", delete_url, PLATFORM_TOKEN)
    assert status == 200 and done["deleted_rows"]["agents"] == 1 and done["deleted_rows"]["sla_policies"] > 0
    async with pool.connection() as conn:
        assert {t: n for t, n in (await tenant_rows(conn, created["tenant_id"])).items() if n} == {}
        assert await tenants.get(conn, kb_tenant.id) is not None
    status, _, err = await call(http, "DELETE", delete_url, PLATFORM_TOKEN)
    assert status == 404 and err["error"]["field"] == "slug"


async def test_export_has_the_tenants_data_and_nothing_else(api: RunningGateway, http: aiohttp.ClientSession,
                                                            pool: AsyncConnectionPool, kb_tenant: Tenant,
                                                            other_tenant: Tenant, tmp_path: Path) -> None:
    mine = await ingest(pool, f.email(kb_tenant.id, "ann@example.com", "export-marker-mine: where is my parcel"))
    theirs = await ingest(pool, f.email(other_tenant.id, "ann@example.com", "export-marker-theirs: hello"))
    url = f"{api.url}/api/v1/tenant/export"
    assert (await call(http, "GET", url, await make_token(pool, kb_tenant.id, "read,write,classify")))[0] == 403
    status, headers, doc = await call(http, "GET", url, await make_token(pool, kb_tenant.id, "admin"))
    assert status == 200, doc
    assert "attachment" in headers["Content-Disposition"]
    assert doc["format"] == "switchboard.tenant-export.v1" and doc["tenant"]["slug"] == kb_tenant.slug
    tables = doc["tables"]
    assert [c["id"] for c in tables["conversations"]] == [mine.conversation_id]
    assert [m["text"] for m in tables["messages"]] == ["export-marker-mine: where is my parcel"]
    assert tables["kb_articles"] and tables["sla_policies"] is not None
    text = json.dumps(doc)
    assert "export-marker-theirs" not in text and str(theirs.conversation_id) not in [str(c["id"]) for c in
                                                                                      tables["conversations"]]
    assert all(row["tenant_id"] == kb_tenant.id for rows in tables.values() for row in rows)
    # Credentials and derived vectors stay home.
    assert "token_hash" not in tables["api_tokens"][0] and "embedding" not in tables["kb_chunks"][0]
    assert "one_time_tokens" not in tables and all("password_hash" not in a for a in tables.get("agents", []))

    # The CLI writes the same document.
    out = tmp_path / "export.json"
    assert await run_on(pool, _parser().parse_args(["tenant", "export", kb_tenant.slug, "-o", str(out)]),
                        base_url="") == 0
    from_cli = json.loads(out.read_text())
    assert from_cli["tables"]["messages"] == tables["messages"]


async def test_tenant_routes_are_in_the_openapi_document(api: RunningGateway, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/openapi.json") as resp:
        doc = await resp.json()
    ops = {op["operationId"]: op for methods in doc["paths"].values() for op in methods.values()}
    for name, scope in (("createTenant", "platform"), ("deleteTenant", "platform"), ("exportTenant", "admin"),
                        ("getCustomer", "read"), ("listCustomerIdentities", "read"), ("mergeCustomers", "write"),
                        ("undoCustomerMerge", "write"), ("eraseCustomer", "admin")):
        assert ops[name]["x-scope"] == scope
    assert "not a tenant token" in ops["createTenant"]["description"]
    assert "CreateTenantRequest" in doc["components"]["schemas"]
