"""Tokens: scopes on every route, revocation at once, last use recorded, rate limits with Retry-After."""

from __future__ import annotations

import argparse

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.api import REST_API
from gateway.api.auth import RateLimiter
from gateway.api.token_cli import run_on
from store import api_tokens
from store.tenants import Tenant
from tests.api.conftest import call, make_token
from tests.servers.gateway import RunningGateway

SAMPLE_BODIES = {"classify": {"body": "I was charged twice"},
                 "createConversation": {"external_id": "scope-1", "customer": {"external_id": "crm:1"}, "text": "hi"}}


def _ops(api: RunningGateway) -> list[tuple[str, str, str, str]]:
    return [(op.operation_id, op.method, op.path.replace("{id}", "1"), op.scope)
            for op in api.app[REST_API].operations()]


async def test_every_route_needs_a_token_with_its_scope(api: RunningGateway, http: aiohttp.ClientSession,
                                                        pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    ops = _ops(api)
    assert {o[0] for o in ops} == {"classify", "listConversations", "createConversation", "getConversation"}
    for op_id, method, path, scope in ops:
        body = SAMPLE_BODIES.get(op_id)
        status, headers, err = await call(http, method, api.url + path, json=body)
        assert status == 401, (op_id, err)
        assert err["error"]["code"] == "unauthorized" and err["error"]["field"] == "Authorization"
        assert headers["WWW-Authenticate"].startswith("Bearer")
        status, _, err = await call(http, method, api.url + path, "sb_not-a-real-token", json=body)
        assert status == 401, op_id
        others = ",".join(s for s in api_tokens.SCOPES if s not in (scope, "admin"))
        wrong = await make_token(pool, kb_tenant.id, others)
        status, _, err = await call(http, method, api.url + path, wrong, json=body)
        assert status == 403, (op_id, err)
        assert err["error"] == {"code": "forbidden", "message": f"this token lacks the {scope!r} scope",
                                "field": "Authorization"}
        for granted in (scope, "admin"):
            right = await make_token(pool, kb_tenant.id, granted)
            status, _, err = await call(http, method, api.url + path, right, json=body)
            assert status not in (401, 403), (op_id, granted, err)
            assert status < 500, (op_id, err)


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
