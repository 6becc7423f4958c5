"""The contact form's HTTP contract: JSON and urlencoded, field errors, CSRF, limits, idempotency."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from channels.webform import FormLimits, validate
from store.tenants import Tenant
from tests.servers.gateway import RunningGateway

GOOD = {"name": "Ada", "email": "Ada@Example.com", "subject": "Invoice", "message": "Wrong VAT number"}


async def post_json(url: str, body: Any, **kw: Any) -> tuple[int, dict[str, Any], Any]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body, **kw) as resp:
        return resp.status, dict(resp.headers), await resp.json()


async def count(pool: AsyncConnectionPool, tenant: Tenant, sql: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, (tenant.id,))
        row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def test_json_submission_is_idempotent_by_its_token(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    url = f"{gateway.url}/forms/{tenant.slug}"
    body = {**GOOD, "submission_token": "tok-0123456789abcdef"}
    status, _, first = await post_json(url, body)
    assert status == 201 and first["ok"] and first["duplicate"] is False and first["confirmation_email"] is False
    status, _, again = await post_json(url, body)
    assert status == 200 and again["duplicate"] is True and again["reference"] == first["reference"]
    assert await count(pool, tenant, "SELECT count(*) AS n FROM messages WHERE tenant_id = %s") == 1
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT channel, external_id, subject, text FROM messages WHERE tenant_id = %s",
                                 (tenant.id,))
        assert await cur.fetchone() == {"channel": "webform", "external_id": "tok-0123456789abcdef",
                                        "subject": "Invoice", "text": "Wrong VAT number"}


@pytest.mark.parametrize("body,field", [
    ({**GOOD, "email": ""}, "email"),
    ({**GOOD, "email": "ada@"}, "email"),
    ({**GOOD, "email": 42}, "email"),
    ({**GOOD, "message": "   "}, "message"),
    ({**GOOD, "message": "x" * 10_001}, "message"),
    ({**GOOD, "name": "n" * 201}, "name"),
    ({**GOOD, "subject": "line\nbreak"}, "subject"),
    ({**GOOD, "submission_token": "short"}, "submission_token"),
])
async def test_json_errors_name_the_field(gateway: RunningGateway, tenant: Tenant, body: Any, field: str) -> None:
    status, _, out = await post_json(f"{gateway.url}/forms/{tenant.slug}", body)
    assert status == 422
    assert out["error"]["code"] == "invalid" and out["error"]["field"] == field and field in out["errors"]


async def test_every_problem_is_reported_at_once() -> None:
    _, errors = validate({"name": 5, "subject": "s" * 300}, FormLimits(), token_required=True)
    assert set(errors) == {"name", "email", "subject", "message", "submission_token"}


@pytest.mark.parametrize("kwargs,status,code", [
    ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "bad_json"),
    ({"data": b"[1, 2]", "headers": {"Content-Type": "application/json"}}, 400, "bad_json"),
    ({"data": b"hello", "headers": {"Content-Type": "text/plain"}}, 415, None),
    ({"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}, 400, "bad_encoding"),
    ({"data": b"x" * (300 * 1024), "headers": {"Content-Type": "application/json"}}, 413, "too_large"),
])
async def test_bad_bodies_get_4xx_not_500(gateway: RunningGateway, tenant: Tenant, kwargs: Any, status: int,
                                          code: str | None) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{gateway.url}/forms/{tenant.slug}", **kwargs) as resp:
        assert resp.status == status
        if code:
            assert (await resp.json())["error"]["code"] == code


async def test_html_post_without_the_csrf_cookie_is_refused_and_stores_nothing(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    url = f"{gateway.url}/forms/{tenant.slug}"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # unsafe: IP hosts
        async with http.get(url) as resp:
            page = await resp.text()
            assert resp.status == 200 and resp.headers["Content-Security-Policy"].endswith("frame-ancestors 'none'")
        fields = dict(re.findall(r'name="(csrf_token|submission_token)" value="([^"]+)"', page))
        form = {**GOOD, **fields}
        # A cross-site forger has neither our cookie nor a token bound to it.
        async with aiohttp.ClientSession() as stranger, stranger.post(url, data=form) as resp:
            assert resp.status == 403 and "session expired" in await resp.text()
        async with http.post(url, data={**form, "csrf_token": "forged"}) as resp:
            assert resp.status == 403
        assert await count(pool, tenant, "SELECT count(*) AS n FROM messages WHERE tenant_id = %s") == 0
        async with http.post(url, data=form) as resp:
            assert resp.status == 200 and "We received your message" in await resp.text()
    assert await count(pool, tenant, "SELECT count(*) AS n FROM messages WHERE tenant_id = %s") == 1


async def test_rate_limit_answers_429_with_retry_after(gateway: RunningGateway, tenant: Tenant) -> None:
    url = f"{gateway.url}/forms/{tenant.slug}"
    statuses = []
    for i in range(12):
        status, headers, _ = await post_json(url, {**GOOD, "submission_token": f"rate-limit-token-{i:04d}"})
        statuses.append(status)
    assert statuses[:10] == [201] * 10 and statuses[-1] == 429
    assert int(headers["Retry-After"]) >= 1


async def test_unknown_tenant(gateway: RunningGateway) -> None:
    status, _, out = await post_json(f"{gateway.url}/forms/nobody-here", GOOD)
    assert status == 404 and out["error"]["field"] == "tenant"
    async with aiohttp.ClientSession() as http, http.get(f"{gateway.url}/forms/nobody-here") as resp:
        assert resp.status == 404 and "Form not found" in await resp.text()


async def test_widget_assets_are_served(gateway: RunningGateway, tenant: Tenant) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{gateway.url}/widget/{tenant.slug}") as resp:
            assert resp.status == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
            assert f'data-tenant="{tenant.slug}"' in await resp.text()
        for path, kind in [("/static/widget/widget.js", "text/javascript"), ("/static/widget/widget.css", "text/css"),
                           ("/static/vendor/socket.io.min.js", "text/javascript")]:
            async with http.get(gateway.url + path) as resp:
                assert resp.status == 200 and resp.content_type == kind, path
        async with http.get(f"{gateway.url}/static/widget/..%2Fwebform.py") as resp:
            assert resp.status == 404


async def test_missing_socket_io_client_is_a_clear_503(pool: AsyncConnectionPool, tmp_path: Any) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from channels.widget import WidgetPages

    app = web.Application()
    app.add_routes(WidgetPages(pool, socket_io_client=tmp_path / "missing.js").routes())
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/static/vendor/socket.io.min.js")
        assert resp.status == 503 and "./run setup" in await resp.text()
