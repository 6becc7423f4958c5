"""Tenant isolation swept across every HTTP route and every chat event: A addressing B's ids gets nothing.

Routes come from ``app.router.routes()``, so a route added later is swept without editing this file.
Tenant B is created first in a fresh database, so each of its objects holds id 1 in its table
(customer, conversation, message, agent, …); every ``{id}``-like parameter is then 1 and names
*something of B's* whatever kind of object the route expects. Tenant A's admin (console cookie) and
A's all-scopes API token call every route that way. Property: no 2xx, never a byte of B's marker in
any answer, and B's rows unchanged afterwards. Public routes keyed by a tenant slug (widget, form,
chat session) are public by design; routes keyed by a secret token get a made-up token and must 4xx.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import api_tokens, kb, tenants
from store.tenants import Tenant
from tests import factories as f
from tests.channels.test_chat import Visitor, session_token
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.timeout(150)
MARKER = f"GLOBEX-SECRET-{uuid.uuid4().hex[:8]}"
PUBLIC_BY_SLUG = re.compile(r"^/(widget|forms|chat)/\{tenant\}")
SNAPSHOT = {
    "messages": "SELECT id, text, deleted_at FROM messages WHERE tenant_id = %s ORDER BY id",
    "conversations": "SELECT id, status, assigned_agent_id FROM conversations WHERE tenant_id = %s ORDER BY id",
    "customers": "SELECT id FROM customers WHERE tenant_id = %s ORDER BY id",
    "agents": "SELECT id, role, active FROM agents WHERE tenant_id = %s ORDER BY id",
    "outbox": "SELECT id FROM outbox WHERE tenant_id = %s ORDER BY id",
    "kb": "SELECT key, title, body FROM kb_articles WHERE tenant_id = %s ORDER BY key",
}


def _snapshot(dsn: str, tenant_id: int) -> dict[str, list[Any]]:
    out = {}
    with psycopg.connect(dsn) as conn:
        for name, sql in SNAPSHOT.items():
            try:
                out[name] = conn.execute(sql, (tenant_id,)).fetchall()
            except psycopg.errors.UndefinedColumn:  # a column renamed elsewhere must not hide the sweep
                conn.rollback()
                out[name] = conn.execute(sql.split(" FROM ")[0].split(",")[0] + " FROM " + sql.split(" FROM ")[1],
                                         (tenant_id,)).fetchall()
    return out


@pytest.fixture
async def two_tenants(pool: AsyncConnectionPool) -> tuple[Tenant, Tenant, dict[str, str]]:
    async with pool.connection() as conn:
        b = await tenants.create(conn, f"globex-{uuid.uuid4().hex[:6]}", "Globex")
    await make_agent(pool, b, "boss@globex.test", role="admin")
    result = await ingest(pool, f.email(b.id, "ceo@globex.test", f"{MARKER} our merger plans"))
    body = f"{MARKER} internal runbook"
    async with pool.connection() as conn:
        await kb.upsert_article(conn, b.id, key="runbook", title=f"{MARKER} runbook", body=body,
                                content_hash=hashlib.sha256(body.encode()).hexdigest(), chunks=[])
        a = await tenants.create(conn, f"acme-{uuid.uuid4().hex[:6]}", "Acme")
        _, secret = await api_tokens.create(conn, a.id, name="sweep", scopes=api_tokens.SCOPES, created_by="test",
                                            rate_limit_per_minute=10_000)
    await make_agent(pool, a, "admin@acme.test", role="admin")
    assert result.conversation_id == 1 and result.message_id == 1  # B's objects are the ones named "1"
    return a, b, {"token": secret, "b_conversation": str(result.conversation_id)}


@pytest.fixture
async def gw(pool: AsyncConnectionPool, dsn: str, tmp_path: Path,
             two_tenants: tuple[Tenant, Tenant, dict[str, str]]) -> AsyncIterator[RunningGateway]:
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as g:
        yield g


def _routes(gw: RunningGateway) -> list[tuple[str, str]]:
    out = []
    for route in gw.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = str(info.get("formatter") or info.get("path") or "")
        if "{" in path and route.method not in ("HEAD", "OPTIONS", "*") and not PUBLIC_BY_SLUG.match(path):
            out.append((route.method, path))
    return sorted(set(out))


def _url(path: str, b: Tenant) -> str:
    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("tenant", "slug"):
            return b.slug
        if name == "key":
            return "runbook"
        if name == "token":
            return "made-up-" + uuid.uuid4().hex
        if name == "name":
            return "volume"
        return "1"
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", value, path)


async def test_every_route_refuses_tenant_a_on_tenant_b_ids(
        gw: RunningGateway, dsn: str, two_tenants: tuple[Tenant, Tenant, dict[str, str]]) -> None:
    _, b, secrets = two_tenants
    before = _snapshot(dsn, b.id)
    console = ConsoleClient(gw.url)
    assert await console.login("admin@acme.test", PASSWORD) == 303
    routes = _routes(gw)
    assert len(routes) >= 30, routes
    leaks = []
    statuses: dict[int, int] = {}
    try:
        # Both identities work, so a refusal below is about B's ids, not about A being signed out.
        assert (await console.get("/console/api/me"))
        async with aiohttp.ClientSession() as http, http.get(
                f"{gw.url}/api/v1/conversations", headers={"Authorization": f"Bearer {secrets['token']}"}) as resp:
            assert resp.status == 200, await resp.text()
        for method, path in routes:
            url = gw.url + _url(path, b)
            headers = {"X-CSRF-Token": console.csrf}
            http = console.http
            if path.startswith("/api/"):
                headers = {"Authorization": f"Bearer {secrets['token']}"}
                http = aiohttp.ClientSession()
            body: dict[str, Any] = {"text": "from acme", "status": "resolved", "title": "t", "body": "b",
                                    "role": "admin", "attributes": {"x": "y"}, "into_customer_id": 1}
            try:
                async with http.request(method, url, json=None if method in ("GET", "DELETE") else body,
                                        headers=headers, allow_redirects=False) as resp:
                    text = await resp.text()
                    status = resp.status
            finally:
                if http is not console.http:
                    await http.close()
            statuses[status] = statuses.get(status, 0) + 1
            if status < 300 or status >= 500 or MARKER in text:
                leaks.append((method, path, status, text[:200]))
    finally:
        await console.close()
    assert leaks == []
    assert statuses.get(404, 0) >= len(routes) // 2, statuses  # mostly "no such thing", not auth refusals
    print(f"\ntenant sweep: {len(routes)} routes, statuses {statuses}")
    assert _snapshot(dsn, b.id) == before


async def test_every_chat_event_refuses_tenant_a_on_tenant_b_conversation(
        gw: RunningGateway, dsn: str, two_tenants: tuple[Tenant, Tenant, dict[str, str]]) -> None:
    a, b, secrets = two_tenants
    before = _snapshot(dsn, b.id)
    tok = await session_token(gw.url, a.slug)
    v = Visitor()
    await v.connect(gw.url, tok["token"])
    cid = int(secrets["b_conversation"])
    try:
        assert (await v.call("message", {"client_id": "own", "text": "my own question"}))["ok"]
        calls = {
            "message": {"client_id": "into-b", "text": "let me in", "conversation_id": cid},
            "resume": {"conversation_id": cid, "last_seq": 0},
            "typing": {"conversation_id": cid, "typing": True},
            "read": {"conversation_id": cid, "seq": 1},
            "action": {"conversation_id": cid, "action_id": "solved"},
        }
        for event, data in calls.items():
            ack = await v.call(event, data)
            assert MARKER not in str(ack), (event, ack)
            if event == "message":  # a stranger's id is ignored: the message starts the visitor's own thread
                assert ack["ok"] and ack["conversation_id"] != cid, ack
            else:
                assert ack["error"]["code"] == "not_found" and ack["error"]["field"] == "conversation_id", (event, ack)
        history = await v.call("history", {})
        assert MARKER not in str(history) and cid not in [c["id"] for c in history["conversations"]]
        assert not any(MARKER in str(m) for m in v.pushed)
    finally:
        await v.sio.disconnect()
    assert _snapshot(dsn, b.id) == before


async def test_every_copilot_event_refuses_tenant_a_on_tenant_b_conversation(
        gw: RunningGateway, dsn: str, two_tenants: tuple[Tenant, Tenant, dict[str, str]]) -> None:
    _, b, secrets = two_tenants
    before = _snapshot(dsn, b.id)
    console = ConsoleClient(gw.url)
    assert await console.login("admin@acme.test", PASSWORD) == 303
    sio = await console.socket()
    events: list[Any] = []
    sio.on("*", lambda event, data: events.append((event, data)), namespace="/copilot")
    try:
        ack = await sio.call("suggest", {"conversation_id": int(secrets["b_conversation"])}, namespace="/copilot",
                             timeout=10)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found", ack
        ack = await sio.call("cancel", {"request_id": "anything"}, namespace="/copilot", timeout=10)
        assert ack["ok"] is False and ack["error"]["field"] == "request_id", ack
        for reserved in ("connect", "disconnect"):  # sent as ordinary events, e.g. with another agent's cookie
            ack = await sio.call(reserved, {"HTTP_COOKIE": "sb_console=forged"}, namespace="/copilot", timeout=10)
            assert ack["error"]["code"] == "unknown_event", ack
        assert (await sio.call("cancel", {}, namespace="/copilot", timeout=10))["ok"] is False  # still connected
        assert MARKER not in str(events)
    finally:
        await sio.disconnect()
        await console.close()
    assert _snapshot(dsn, b.id) == before
