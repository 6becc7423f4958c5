"""The admins' KB HTTP API over a real gateway: upsert through the importer, freshness, auth, isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph import kb_import
from agent_graph.embedder import embed_many_async
from store import kb
from store.tenants import Tenant
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway

KB = "/console/api/admin/kb"

REFUNDS_V1 = """# Refund policy

Refunds are paid back to the original card within 5 business days.

## Refunds for annual plans

An annual plan cancelled within 30 days is refunded in full; after that, pro rata for whole months.
Contact billing with your invoice number ZX-REFUND-7781 to start a refund.
"""

REFUNDS_V2 = """# Refund policy

Refunds are paid back to the original card within 10 business days.
"""


async def signed_in(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, role: str) -> ConsoleClient:
    email = f"{role}@{tenant.slug}.test"
    await make_agent(pool, tenant, email, role=role)
    c = ConsoleClient(gateway.url)
    assert await c.login(email, PASSWORD) == 303
    return c


@pytest.fixture
async def admin(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> AsyncIterator[ConsoleClient]:
    c = await signed_in(gateway, pool, tenant, "admin")
    yield c
    await c.close()


async def chunk_texts(pool: AsyncConnectionPool, tenant_id: int) -> str:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT string_agg(text, '\n') AS t FROM kb_chunks WHERE tenant_id = %s", (tenant_id,))
        row = await cur.fetchone()
    return (row["t"] if row else None) or ""


async def test_put_imports_like_the_cli_reembeds_only_on_change_and_drops_stale_chunks(
    admin: ConsoleClient, pool: AsyncConnectionPool, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded: list[int] = []

    async def counting_embed(texts: list[str]) -> Any:
        embedded.append(len(texts))
        return await embed_many_async(texts)

    monkeypatch.setattr(kb_import, "embed_many_async", counting_embed)  # the gateway runs in this process

    made = await admin.send("PUT", f"{KB}/billing/refunds",
                      {"title": "Refunds", "body": REFUNDS_V1, "url": "https://help.example/refunds"}, expect=201)
    assert made["created"] and made["changed"] and made["article"]["chunks"] >= 2 and embedded == [made["article"]["chunks"]]
    assert made["article"]["title"] == "Refunds" and made["article"]["url"] == "https://help.example/refunds"

    listed = (await admin.get(KB))["articles"]
    assert [(a["key"], a["title"], a["chunks"], a["source"]) for a in listed] == [
        ("billing/refunds", "Refunds", made["article"]["chunks"], "api")]
    assert listed[0]["updated_at"] and "body" not in listed[0]
    one = (await admin.get(f"{KB}/billing/refunds"))["article"]
    assert one["body"].startswith("# Refund policy") and one["chunks"] == made["article"]["chunks"]

    # Searchable right away, through the same hybrid search the graph uses.
    question = "how long until my refund reaches my card?"
    async with pool.connection() as conn:
        hits = await kb.search(conn, tenant.id, question, (await embed_many_async([question]))[0], k=3)
    assert hits and hits[0].source.title.startswith("Refunds") and hits[0].source.url == "https://help.example/refunds"

    same = await admin.send("PUT", f"{KB}/billing/refunds",
                      {"title": "Refunds", "body": REFUNDS_V1, "url": "https://help.example/refunds"}, expect=200)
    assert not same["created"] and not same["changed"] and len(embedded) == 1  # unchanged: no embedding

    changed = await admin.send("PUT", f"{KB}/billing/refunds", {"title": "Refunds", "body": REFUNDS_V2}, expect=200)
    assert changed["changed"] and changed["article"]["chunks"] == 1 and len(embedded) == 2
    texts = await chunk_texts(pool, tenant.id)
    assert "10 business days" in texts and "ZX-REFUND-7781" not in texts and "5 business days" not in texts

    html = ("<html><head><title>ignored</title></head><body><h1>Invoices</h1><p>Download invoices from"
            " Billing, then History.</p><h2>VAT</h2><p>Add your VAT id under Billing details.</p></body></html>")
    page = await admin.send("PUT", f"{KB}/billing/invoices", {"title": "Invoices", "body": html}, expect=201)
    assert page["article"]["chunks"] >= 1
    assert "<p>" not in (await admin.get(f"{KB}/billing/invoices"))["article"]["body"]

    assert (await admin.send("DELETE", f"{KB}/billing/refunds", expect=200))["deleted"] == "billing/refunds"
    await admin.get(f"{KB}/billing/refunds", expect=404)
    await admin.send("DELETE", f"{KB}/billing/refunds", expect=404)
    assert "business days" not in await chunk_texts(pool, tenant.id)
    assert [a["key"] for a in (await admin.get(KB))["articles"]] == ["billing/invoices"]
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT action FROM audit_events WHERE tenant_id = %s AND subject_type = 'kb_article'"
                                 " ORDER BY id", (tenant.id,))
        actions = [r["action"] for r in await cur.fetchall()]
    assert actions == ["kb.article.created", "kb.article.updated", "kb.article.created", "kb.article.deleted"]


async def test_bad_input_names_the_field_and_big_bodies_are_413(admin: ConsoleClient, tenant: Tenant) -> None:
    cases: list[tuple[str, Any, int, str]] = [
        ("ok", {"body": "text"}, 422, "title"),
        ("ok", {"title": "  ", "body": "text"}, 422, "title"),
        ("ok", {"title": "x" * 301, "body": "text"}, 422, "title"),
        ("ok", {"title": "T"}, 422, "body"),
        ("ok", {"title": "T", "body": 5}, 422, "body"),
        ("ok", {"title": "T", "body": "x", "url": "javascript:alert(1)"}, 422, "url"),
        ("ok", {"title": "T", "body": "x", "format": "pdf"}, 422, "format"),
        ("ok", {"title": "T", "body": "<script>alert(1)</script>", "format": "html"}, 422, "body"),
        ("ok", ["not", "an", "object"], 422, "body"),
        ("a..b", {"title": "T", "body": "text"}, 422, "key"),
        ("bad%20key", {"title": "T", "body": "text"}, 422, "key"),
        ("ok", {"title": "T", "body": "é" * (100 * 1024 + 1)}, 413, "body"),  # 200 KB + 2 bytes of UTF-8
    ]
    for key, body, status, field in cases:
        err = (await admin.send("PUT", f"{KB}/{key}", body, expect=status))["error"]
        assert err["field"] == field, (key, body if len(str(body)) < 100 else "…", err)
    async with admin.http.put(f"{admin.base}{KB}/ok", data="title=T", headers={"X-CSRF-Token": admin.csrf,
                                                                              "Content-Type": "text/plain"}) as resp:
        assert resp.status == 415 and (await resp.json())["error"]["field"] == "Content-Type"
    assert (await admin.get(KB))["articles"] == []
    at_limit = ("word " * 10_000 + "\n\n") * 4  # 200,008 bytes, just under 200 KB: accepted
    fits = await admin.send("PUT", f"{KB}/big", {"title": "Big", "body": at_limit}, expect=201)
    assert fits["article"]["chunks"] >= 1


async def test_admins_only_csrf_checked_and_tenant_scoped(
    gateway: RunningGateway, admin: ConsoleClient, pool: AsyncConnectionPool, tenant: Tenant, kb_tenant: Tenant
) -> None:
    article = {"title": "T", "body": "Some help text."}
    anonymous = ConsoleClient(gateway.url)
    agent = await signed_in(gateway, pool, tenant, "agent")
    try:
        assert (await anonymous.get(KB, expect=401))["error"]["code"] == "unauthorized"
        await anonymous.send("PUT", f"{KB}/x", article, expect=401)
        for path in (KB, f"{KB}/x"):
            assert (await agent.get(path, expect=403))["error"]["code"] == "forbidden"
        await agent.send("PUT", f"{KB}/x", article, expect=403)
        await agent.send("DELETE", f"{KB}/x", expect=403)
    finally:
        await anonymous.close()
        await agent.close()
    err = (await admin.send("PUT", f"{KB}/x", article, expect=403, csrf=False))["error"]
    assert err["field"] == "X-CSRF-Token"
    await admin.send("DELETE", f"{KB}/x", expect=403, csrf=False)

    async with pool.connection() as conn:
        theirs = await kb.list_articles(conn, kb_tenant.id)  # the demo KB of another tenant
    assert theirs
    key = theirs[0].key
    assert (await admin.get(KB))["articles"] == []
    await admin.get(f"{KB}/{key}", expect=404)
    await admin.send("DELETE", f"{KB}/{key}", expect=404)
    mine = await admin.send("PUT", f"{KB}/{key}", {"title": "Mine", "body": "Our own text."}, expect=201)
    assert mine["created"]  # same key, different tenant: a new article
    async with pool.connection() as conn:
        still = await kb.get_article(conn, kb_tenant.id, key)
    assert still is not None and still.title == theirs[0].title and still.content_hash == theirs[0].content_hash
