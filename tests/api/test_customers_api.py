"""Customers over REST: the record, identities with provenance, merge and undo, scopes, tenant isolation."""

from __future__ import annotations

from typing import Any

import aiohttp
from psycopg_pool import AsyncConnectionPool

from gateway.cli import _parser
from gateway.ingest import ingest
from gateway.tenant_cli import run_on
from store import customers
from store.models import ClaimSource
from store.tenants import Tenant
from tests import factories as f
from tests.api.conftest import call, make_token
from tests.servers.gateway import RunningGateway


async def two_customers(pool: AsyncConnectionPool, tenant: Tenant) -> tuple[int, int]:
    """An email customer (with a typed-email claim on a chat visitor) and a chat visitor."""
    by_mail = await ingest(pool, f.email(tenant.id, "Carol@Example.com", "my invoice is wrong"))
    by_chat = await ingest(pool, f.chat(tenant.id, "visitor-42", "hello", typed_email="carol@example.com"))
    async with pool.connection() as conn:
        await conn.execute("UPDATE customers SET attributes = %s WHERE id = %s",
                           ('{"crm_id": "C-17"}', by_mail.customer_id))
    return by_mail.customer_id, by_chat.customer_id


async def test_get_identities_merge_and_undo(api: RunningGateway, http: aiohttp.ClientSession,
                                             pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    carol, visitor = await two_customers(pool, kb_tenant)
    read = await make_token(pool, kb_tenant.id, "read")
    write = await make_token(pool, kb_tenant.id, "write,read")
    base = f"{api.url}/api/v1/customers"

    status, _, got = await call(http, "GET", f"{base}/{carol}", read)
    assert status == 200, got
    assert got["attributes"] == {"crm_id": "C-17"} and got["canonical_id"] == carol and got["merged_into"] is None
    status, _, idents = await call(http, "GET", f"{base}/{visitor}/identities", read)
    assert status == 200
    by_kind = {(i["kind"], i["source"]): i for i in idents["identities"]}
    typed = by_kind[("email", "chat_typed_email")]  # a claim: agents see it, it links and unlocks nothing
    assert typed["value"] == "carol@example.com" and not typed["links"] and not typed["sees_history"]
    assert by_kind[("chat_visitor", "chat_visitor_token")]["links"] and idents["merges"] == []

    body = {"source_customer_id": visitor, "reason": "same person per our CRM"}
    status, _, merge = await call(http, "POST", f"{base}/{carol}/merges", write, json=body)
    assert status == 201, merge
    assert (merge["source_customer_id"], merge["target_customer_id"]) == (visitor, carol)
    assert merge["reason"] == "same person per our CRM" and merge["actor"].startswith("api_token:")
    assert merge["claim_source"] == "api_external_id" and merge["undone_at"] is None
    status, _, err = await call(http, "POST", f"{base}/{carol}/merges", write, json=body)
    assert status == 409 and err["error"]["field"] == "source_customer_id"

    status, _, got = await call(http, "GET", f"{base}/{visitor}", read)
    assert got["canonical_id"] == carol and got["merged_into"] == carol and got["merged_customer_ids"] == [carol, visitor]
    status, _, idents = await call(http, "GET", f"{base}/{carol}/identities", read)
    assert {i["customer_id"] for i in idents["identities"]} == {carol, visitor}
    assert [m["id"] for m in idents["merges"]] == [merge["id"]]

    undo = f"{base}/{carol}/merges/{merge['id']}/undo"
    status, _, undone = await call(http, "POST", undo, write)
    assert status == 200 and undone["undone_at"] is not None and undone["undone_by"].startswith("api_token:")
    status, _, err = await call(http, "POST", undo, write)
    assert status == 409 and err["error"]["field"] == "merge_id"
    async with pool.connection() as conn:
        assert await customers.canonical(conn, kb_tenant.id, visitor) == visitor
    status, _, err = await call(http, "POST", f"{base}/{carol + visitor + 1000}/merges/{merge['id']}/undo", write)
    assert status == 404


async def test_scopes_and_bad_input(api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
                                    kb_tenant: Tenant) -> None:
    carol, visitor = await two_customers(pool, kb_tenant)
    base = f"{api.url}/api/v1/customers"
    routes: list[tuple[str, str, dict[str, Any] | None, str]] = [
        ("GET", f"{base}/{carol}", None, "read"),
        ("GET", f"{base}/{carol}/identities", None, "read"),
        ("POST", f"{base}/{carol}/merges", {"source_customer_id": visitor, "reason": "x"}, "write"),
        ("POST", f"{base}/{carol}/merges/1/undo", None, "write"),
        ("DELETE", f"{base}/{carol}", None, "admin"),
    ]
    others = {"read": "write,classify", "write": "read,classify", "admin": "read,write,classify"}
    for method, url, body, scope in routes:
        assert (await call(http, method, url, json=body))[0] == 401, url
        lacking = await make_token(pool, kb_tenant.id, others[scope])
        status, _, err = await call(http, method, url, lacking, json=body)
        assert status == 403 and err["error"] == {"code": "forbidden", "field": "Authorization",
                                                  "message": f"this token lacks the {scope!r} scope"}, (url, err)
    read = await make_token(pool, kb_tenant.id, "read,write")
    for url, field in ((f"{base}/abc", "id"), (f"{base}/0", "id"), (f"{base}/{2**63}", "id")):
        status, _, err = await call(http, "GET", url, read)
        assert status == 422 and err["error"]["field"] == field, err
    for body, field in (({"source_customer_id": visitor}, "reason"), ({"source_customer_id": "x", "reason": "r"},
                                                                      "source_customer_id"),
                        ({"source_customer_id": visitor, "reason": "r" * 501}, "reason")):
        status, _, err = await call(http, "POST", f"{base}/{carol}/merges", read, json=body)
        assert status == 422 and err["error"]["field"] == field, err
    status, _, err = await call(http, "POST", f"{base}/{carol}/merges", read, json={"source_customer_id": 10**12,
                                                                                  "reason": "r"})
    assert status == 404 and err["error"]["field"] == "source_customer_id"


async def test_another_tenants_customer_is_not_found(api: RunningGateway, http: aiohttp.ClientSession,
                                                     pool: AsyncConnectionPool, kb_tenant: Tenant,
                                                     other_tenant: Tenant) -> None:
    carol, visitor = await two_customers(pool, kb_tenant)
    theirs, _ = await two_customers(pool, other_tenant)
    mine = await make_token(pool, kb_tenant.id, "admin")
    async with pool.connection() as conn:
        merge_id = await customers.merge(conn, kb_tenant.id, source_id=visitor, target_id=carol, identity_id=None,
                                         claim_source=ClaimSource.API_EXTERNAL_ID, reason="t", actor="t")
    foreign = await make_token(pool, other_tenant.id, "admin")
    base = f"{api.url}/api/v1/customers"
    for method, url, body in (("GET", f"{base}/{carol}", None), ("GET", f"{base}/{carol}/identities", None),
                              ("POST", f"{base}/{carol}/merges", {"source_customer_id": theirs, "reason": "x"}),
                              ("POST", f"{base}/{carol}/merges/{merge_id}/undo", None),
                              ("DELETE", f"{base}/{carol}", None)):
        status, _, err = await call(http, method, url, foreign, json=body)
        assert status == 404 and err["error"]["code"] == "not_found", (url, err)
    # Naming another tenant's customer as the merge source is "not found" too.
    status, _, err = await call(http, "POST", f"{base}/{carol}/merges", mine,
                                json={"source_customer_id": theirs, "reason": "x"})
    assert status == 404 and err["error"]["field"] == "source_customer_id"
    async with pool.connection() as conn:
        assert await customers.canonical(conn, kb_tenant.id, visitor) == carol  # nothing changed


async def test_cli_erases_a_customer(pool: AsyncConnectionPool, kb_tenant: Tenant, capsys: Any) -> None:
    carol, visitor = await two_customers(pool, kb_tenant)
    args = ["tenant", "erase-customer", kb_tenant.slug, str(carol)]
    assert await run_on(pool, _parser().parse_args(args), base_url="") == 2
    assert await run_on(pool, _parser().parse_args([*args, "--yes"]), base_url="") == 0
    assert f"erased customers {carol}" in capsys.readouterr().out
    async with pool.connection() as conn:
        assert await customers.get(conn, kb_tenant.id, carol) is None
        assert await customers.get(conn, kb_tenant.id, visitor) is not None  # a claim never merged them
    assert await run_on(pool, _parser().parse_args([*args, "--yes"]), base_url="") == 1
