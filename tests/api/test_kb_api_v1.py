"""KB articles over REST: CRUD by scope, re-embedding on create and change (the retriever finds the new
text, never the old), console-equal validation, and tenant isolation."""

from __future__ import annotations

import aiohttp
from psycopg_pool import AsyncConnectionPool

from store.tenants import Tenant
from tests.api.conftest import call, make_token
from tests.servers.gateway import RunningGateway

ARTICLE = {"key": "shipping/drones", "title": "Drone delivery",
           "body": "# Drone delivery\n\nOrders under two kilograms can arrive by quadcopter drone within ninety"
                   " minutes in the Zephyr Valley zone. The drone lands on the marked pad."}


async def chunk_texts(pool: AsyncConnectionPool, tenant_id: int, article_id: int) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT text FROM kb_chunks WHERE tenant_id = %s AND article_id = %s"
                                 " AND embedding IS NOT NULL ORDER BY ord", (tenant_id, article_id))
        return [r["text"] for r in await cur.fetchall()]


async def sources_for(http: aiohttp.ClientSession, api: RunningGateway, token: str, text: str) -> list[str]:
    status, _, out = await call(http, "POST", f"{api.url}/api/v1/classify", token, json={"body": text})
    assert status == 200, out
    return [s["id"].split("#")[0] for s in out["sources"]]


async def test_crud_reembeds_what_changed(api: RunningGateway, http: aiohttp.ClientSession,
                                          pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    write = await make_token(pool, kb_tenant.id, "read,write,classify")
    base = f"{api.url}/api/v1/kb/articles"
    status, _, made = await call(http, "POST", base, write, json=ARTICLE)
    assert status == 201 and made["changed"] is True and made["article"]["chunks"] >= 1
    article_id = made["article"]["id"]
    assert made["article"]["source"] == "api" and made["article"]["key"] == "shipping/drones"
    assert any("quadcopter" in t for t in await chunk_texts(pool, kb_tenant.id, article_id))
    assert f"kb:{article_id}" in await sources_for(http, api, write, "Can a quadcopter drone bring my order?")

    status, _, err = await call(http, "POST", base, write, json=ARTICLE)
    assert status == 409 and err["error"]["field"] == "key"

    changed = {"title": "Drone delivery", "body": "# Drone delivery\n\nParcels now arrive by hot-air balloon"
                                                  " gondola over the Zephyr Valley, weather permitting."}
    status, _, put = await call(http, "PUT", f"{base}/{article_id}", write, json=changed)
    assert status == 200 and put["changed"] is True
    texts = await chunk_texts(pool, kb_tenant.id, article_id)
    assert any("balloon" in t for t in texts) and not any("quadcopter" in t for t in texts)
    status, _, same = await call(http, "PUT", f"{base}/{article_id}", write, json=changed)
    assert status == 200 and same["changed"] is False  # unchanged content costs no embedding

    status, _, one = await call(http, "GET", f"{base}/{article_id}", write)
    assert status == 200 and "balloon" in one["body"] and one["chunks"] == put["article"]["chunks"]
    status, _, page = await call(http, "GET", f"{base}?limit=500", write)
    assert status == 200 and article_id in [a["id"] for a in page["data"]]
    assert "body" not in page["data"][0]

    status, _, gone = await call(http, "DELETE", f"{base}/{article_id}", write)
    assert status == 200 and gone == {"deleted": article_id}
    assert await chunk_texts(pool, kb_tenant.id, article_id) == []
    assert (await call(http, "GET", f"{base}/{article_id}", write))[0] == 404


async def test_validation_names_the_field(api: RunningGateway, http: aiohttp.ClientSession,
                                          pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    write = await make_token(pool, kb_tenant.id, "write")
    base = f"{api.url}/api/v1/kb/articles"
    for body, field in (({**ARTICLE, "key": "../etc"}, "key"), ({**ARTICLE, "key": "a..b"}, "key"),
                        ({**ARTICLE, "title": "   "}, "title"), ({**ARTICLE, "url": "javascript:x"}, "url"),
                        ({**ARTICLE, "format": "pdf"}, "format"), ({**ARTICLE, "extra": 1}, "extra"),
                        ({**ARTICLE, "body": "<p>  </p>", "format": "html"}, "body")):
        status, _, err = await call(http, "POST", base, write, json=body)
        assert status == 422 and err["error"]["field"] == field, (body, err)
    status, _, err = await call(http, "POST", base, write, json={**ARTICLE, "body": "é" * 110_000})
    assert status == 413 and err["error"]["field"] == "body"


async def test_scopes_and_tenants(api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
                                  kb_tenant: Tenant, other_tenant: Tenant) -> None:
    writer = await make_token(pool, kb_tenant.id, "write")
    read = await make_token(pool, kb_tenant.id, "read")
    classify = await make_token(pool, kb_tenant.id, "classify")
    theirs = await make_token(pool, other_tenant.id, "admin")
    base = f"{api.url}/api/v1/kb/articles"
    _, _, made = await call(http, "POST", base, writer, json=ARTICLE)
    one = f"{base}/{made['article']['id']}"
    fields = {"title": "x", "body": "changed text"}
    for method, url, body, needs in (("GET", base, None, "read"), ("GET", one, None, "read"),
                                     ("POST", base, {**ARTICLE, "key": "k2"}, "write"),
                                     ("PUT", one, fields, "write"), ("DELETE", one, None, "write")):
        assert (await call(http, method, url, None, json=body))[0] == 401
        assert (await call(http, method, url, classify, json=body))[0] == 403, (method, url)
        if needs == "write":
            assert (await call(http, method, url, read, json=body))[0] == 403, (method, url)
    for method, body in (("GET", None), ("PUT", fields), ("DELETE", None)):
        status, _, err = await call(http, method, one, theirs, json=body)
        assert status == 404 and err["error"]["field"] == "id", method
    _, _, listed = await call(http, "GET", base, theirs)
    assert made["article"]["id"] not in [a["id"] for a in listed["data"]]
    assert (await call(http, "GET", one, read))[0] == 200  # untouched by the other tenant
