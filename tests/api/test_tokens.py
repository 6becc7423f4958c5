"""Tokens: scopes on every route, revocation at once, last use recorded, rate limits with Retry-After."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.api.auth import RateLimiter
from gateway.api.guard import PLATFORM
from gateway.api.token_cli import run_on
from store import api_tokens
from store.tenants import Tenant
from tests.api.conftest import PLATFORM_TOKEN, call, make_token
from tests.servers.gateway import RunningGateway

# Bodies that let these two succeed outright; every other body route gets {} (its scope check
# comes before the body is read, and with the right scope a 4xx about the body is still "admitted").
SAMPLE_BODIES = {"classify": {"body": "I was charged twice"},
                 "createConversation": {"external_id": "scope-1", "customer": {"external_id": "crm:1"}, "text": "hi"}}
MISSING_ID = "999999999"  # path ids that exist nowhere: a right-scope DELETE must not erase a real row
MISSING_NAME = "no-such-thing"  # fits the tenant slug pattern


@dataclass(frozen=True)
class ServedOperation:
    operation_id: str
    method: str
    url: str
    scope: str
    body: dict[str, Any] | None


async def served_operations(gw: RunningGateway, http: aiohttp.ClientSession) -> list[ServedOperation]:
    """Every operation of the served OpenAPI document, made callable. The document is checked to
    cover every mounted /api/v1 route, so a route added later lands here without touching this file."""
    async with http.get(f"{gw.url}/api/openapi.json") as resp:
        doc = await resp.json()
    mounted = {(r.method.lower(), r.resource.canonical) for r in gw.app.router.routes()
               if r.resource is not None and r.resource.canonical.startswith("/api/v1/") and r.method != "HEAD"}
    assert mounted == {(m, p) for p, ms in doc["paths"].items() for m in ms}, "a route is mounted but undocumented"
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            url = path
            for param in op["parameters"]:
                if param["in"] == "path":
                    value = MISSING_ID if param["schema"].get("type") == "integer" else MISSING_NAME
                    url = url.replace(f"{{{param['name']}}}", value)
            assert "{" not in url, (path, "a path parameter the document does not describe")
            body = SAMPLE_BODIES.get(op["operationId"], {}) if "requestBody" in op else None
            ops.append(ServedOperation(op["operationId"], method.upper(), gw.url + url, op["x-scope"], body))
    return ops


async def test_every_route_needs_a_token_with_its_scope(platform_api: RunningGateway, http: aiohttp.ClientSession,
                                                        pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    """For every served operation: no token or an unknown one → 401; a tenant token without the
    operation's scope → 403 in the error shape; its scope (or admin) → admitted, no 5xx. Platform
    operator routes admit only the operator's token: every tenant token, even admin, gets 403."""
    ops = await served_operations(platform_api, http)
    assert len(ops) >= 25 and {o.scope for o in ops} <= {*api_tokens.SCOPES, PLATFORM}, {o.scope for o in ops}
    holding = {scope: await make_token(pool, kb_tenant.id, scope) for scope in api_tokens.SCOPES}
    lacking = {scope: await make_token(pool, kb_tenant.id, ",".join(s for s in api_tokens.SCOPES
                                                                    if s not in (scope, "admin")))
               for scope in api_tokens.SCOPES}
    for op in ops:
        who = (op.operation_id, op.method, op.url)
        status, headers, err = await call(http, op.method, op.url, json=op.body)
        assert status == 401, (who, err)
        assert err["error"]["code"] == "unauthorized" and err["error"]["field"] == "Authorization", who
        assert headers["WWW-Authenticate"].startswith("Bearer"), who
        status, _, err = await call(http, op.method, op.url, "sb_not-a-real-token", json=op.body)
        assert status == 401 and err["error"]["code"] == "unauthorized", (who, err)

        if op.scope == PLATFORM:
            refused, admitted = list(holding.values()), [PLATFORM_TOKEN]
        else:
            refused, admitted = [lacking[op.scope]], [holding[op.scope], holding["admin"]]
        for secret in refused:
            status, _, err = await call(http, op.method, op.url, secret, json=op.body)
            assert status == 403, (who, err)
            assert set(err) == {"error"} and err["error"]["code"] == "forbidden", (who, err)
            assert err["error"]["field"] == "Authorization" and err["error"]["message"], (who, err)
            if op.scope != PLATFORM:
                assert err["error"]["message"] == f"this token lacks the {op.scope!r} scope", (who, err)
        for secret in admitted:
            status, _, err = await call(http, op.method, op.url, secret, json=op.body)
            assert status not in (401, 403) and status < 500, (who, status, err)


async def test_revoked_token_fails_at_once_and_use_is_recorded(api: RunningGateway, http: aiohttp.ClientSession,
                                                               pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    secret = await make_token(pool, kb_tenant.id, "read")
    async with pool.connection() as conn:
        (tok,) = await api_tokens.list_tokens(conn, kb_tenant.id)
    assert tok.last_used_at is None and tok.prefix == secret[:10]
    status, _, _ = await call(http, "GET", f"{api.url}/api/v1/conversations", secret)
    assert status == 200
    async with pool.connection() as conn:
        used = await api_tokens.get(conn, kb_tenant.id, tok.id)
        assert used is not None and used.last_used_at is not None
        row = await (await conn.execute("SELECT token_hash FROM api_tokens WHERE id = %s", (tok.id,))).fetchone()
        assert row is not None and secret.encode() not in bytes(row["token_hash"])  # only the digest is stored
        assert await api_tokens.revoke(conn, kb_tenant.id, tok.id)
    status, _, err = await call(http, "GET", f"{api.url}/api/v1/conversations", secret)
    assert status == 401 and err["error"]["code"] == "unauthorized"


async def test_another_tenant_cannot_revoke(pool: AsyncConnectionPool, kb_tenant: Tenant, other_tenant: Tenant) -> None:
    await make_token(pool, kb_tenant.id, "read")
    async with pool.connection() as conn:
        (tok,) = await api_tokens.list_tokens(conn, kb_tenant.id)
        assert not await api_tokens.revoke(conn, other_tenant.id, tok.id)
        assert await api_tokens.list_tokens(conn, other_tenant.id) == []


async def test_rate_limit_answers_429_with_retry_after(api: RunningGateway, http: aiohttp.ClientSession,
                                                       pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    limited = await make_token(pool, kb_tenant.id, "read", rate=2)
    other = await make_token(pool, kb_tenant.id, "read", rate=2)
    url = f"{api.url}/api/v1/conversations"
    assert [(await call(http, "GET", url, limited))[0] for _ in range(2)] == [200, 200]
    status, headers, err = await call(http, "GET", url, limited)
    assert status == 429 and err["error"]["code"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 30
    assert (await call(http, "GET", url, other))[0] == 200  # buckets are per token


def test_token_bucket_refills_at_the_limit_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.take(1, 60) for _ in range(60)] == [0.0] * 60
    assert limiter.take(1, 60) == pytest.approx(1.0)
    now[0] += 0.5
    assert limiter.take(1, 60) == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.take(1, 60) == 0.0


def test_scopes_are_checked() -> None:
    assert api_tokens.parse_scopes("read, classify,read") == ("read", "classify")
    for bad in ("", "read,root"):
        with pytest.raises(ValueError):
            api_tokens.parse_scopes(bad)


async def test_cli_creates_a_token_shown_once(pool: AsyncConnectionPool, kb_tenant: Tenant,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(token_command="create", tenant=kb_tenant.slug, scopes="read,classify", name="crm",
                              rate_limit=120, json=False)
    async with pool.connection() as conn:
        assert await run_on(conn, args) == 0
        secret = capsys.readouterr().out.strip().splitlines()[-1]
        tok = await api_tokens.authenticate(conn, secret)
        assert tok is not None and tok.scopes == ("read", "classify") and tok.rate_limit_per_minute == 120
        assert await run_on(conn, argparse.Namespace(token_command="revoke", tenant=kb_tenant.slug,
                                                     token_id=tok.id)) == 0
        assert await api_tokens.authenticate(conn, secret) is None
        bad = argparse.Namespace(**{**vars(args), "scopes": "root"})
        assert await run_on(conn, bad) == 2
