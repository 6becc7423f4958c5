"""The console's HTTP API and socket: auth, lockout, CSRF, tenant isolation, actions, suggestions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import socketio
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store.tenants import Tenant
from tests import factories as f
from tests.channels.test_chat import Visitor, poll_until, session_token
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway

DEMO_KB = Path(__file__).resolve().parents[2] / "gateway" / "demo_kb"






async def test_login_required_and_wrong_password_locks_out(gateway: RunningGateway, pool: AsyncConnectionPool,
                                                           tenant: Tenant) -> None:
    await make_agent(pool, tenant, "bob@x.test")
    c = ConsoleClient(gateway.url)
    try:
        await c.get("/console/api/queue", expect=401)
        statuses = [await c.login("bob@x.test", "wrong password!") for _ in range(5)]
        assert statuses == [401] * 5
        assert await c.login("bob@x.test", PASSWORD) == 429  # locked even with the right password
        assert await c.login("nobody@x.test", PASSWORD) == 401
    finally:
        await c.close()


async def test_writes_need_the_csrf_token_and_logout_ends_the_session(console: ConsoleClient, pool: AsyncConnectionPool,
                                                                      tenant: Tenant) -> None:
    r = await ingest(pool, f.email(tenant.id, "cus@example.com", "help"))
    body = await console.post(f"/console/api/conversations/{r.conversation_id}/note", {"text": "x"}, expect=403,
                              csrf=False)
    assert body["error"]["field"] == "X-CSRF-Token"
    await console.post("/console/logout")
    await console.get("/console/api/queue", expect=401)


async def test_another_tenants_conversation_is_not_found_over_http_and_socket(
    console: ConsoleClient, pool: AsyncConnectionPool, other_tenant: Tenant
) -> None:
    theirs = await ingest(pool, f.email(other_tenant.id, "secret@globex.test", "GLOBEX-SECRET"))
    cid = theirs.conversation_id
    for path in (f"/console/api/conversations/{cid}", f"/console/api/conversations/{cid}/preview?text=hi"):
        assert (await console.get(path, expect=404))["error"]["code"] == "not_found"
    for action in ("note", "reply"):
        await console.post(f"/console/api/conversations/{cid}/{action}", {"text": "hi"}, expect=404)
    for action in ("takeover", "resolve", "handback"):
        await console.post(f"/console/api/conversations/{cid}/{action}", expect=404)
    assert all(i["id"] != cid for i in (await console.get("/console/api/queue?view=all"))["items"])
    sio = await console.socket()
    try:
        ack = await sio.call("suggest", {"conversation_id": cid}, namespace="/copilot", timeout=10)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    finally:
        await sio.disconnect()


async def test_socket_refuses_without_a_session_or_from_another_origin(gateway: RunningGateway,
                                                                       console: ConsoleClient) -> None:
    for headers in ({}, {"Cookie": console.cookie_header(), "Origin": "https://evil.example"}):
        client = socketio.AsyncClient(reconnection=False)
        try:
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(gateway.url, namespaces=["/copilot"], headers=headers, transports=["websocket"],
                                     wait_timeout=5)
        finally:
            await client.disconnect()


async def test_agent_reply_reaches_the_widget_but_an_internal_note_never_does(
    gateway: RunningGateway, console: ConsoleClient, tenant: Tenant
) -> None:
    v = Visitor()
    await v.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    ack = await v.call("message", {"client_id": "1", "text": "where is my refund?"})
    cid = ack["conversation_id"]
    await console.post(f"/console/api/conversations/{cid}/note", {"text": "INTERNAL-ONLY check the ledger"})
    sent = await console.post(f"/console/api/conversations/{cid}/reply", {"text": "Your refund left today."})
    pushed = await v.wait_for(lambda m: m["id"] == sent["message_id"])
    assert pushed["author"] == "agent" and pushed["text"] == "Your refund left today."
    history = await v.call("history", {})
    texts = [m["text"] for c in history["conversations"] for m in c["messages"]]
    assert not any("INTERNAL-ONLY" in t for t in [*texts, *(m["text"] for m in v.pushed)])
    detail = await console.get(f"/console/api/conversations/{cid}")
    assert detail["conversation"]["status"] == "waiting_customer"
    kinds = [(m["direction"], m["author_kind"]) for m in detail["timeline"]]
    assert ("internal", "agent") in kinds and ("out", "agent") in kinds
    await v.sio.disconnect()


async def test_queue_updates_live_when_a_message_arrives(gateway: RunningGateway, console: ConsoleClient,
                                                         tenant: Tenant) -> None:
    sio = await console.socket()
    changed: list[dict[str, Any]] = []
    sio.on("conversation", changed.append, namespace="/copilot")
    try:
        v = Visitor()
        await v.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
        ack = await v.call("message", {"client_id": "q", "text": "hello, anyone?"})
        await poll_until(lambda: any(c["id"] == ack["conversation_id"] for c in changed))
        items = (await console.get("/console/api/queue?view=all"))["items"]
        assert any(i["id"] == ack["conversation_id"] and i["unread"] == 1 for i in items)
        await v.sio.disconnect()
    finally:
        await sio.disconnect()


async def test_suggestion_streams_with_sources_and_adoption_is_recorded(
    gateway: RunningGateway, console: ConsoleClient, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    from agent_graph.kb_import import import_directory

    await import_directory(pool, tenant.id, DEMO_KB, progress=False)
    r = await ingest(pool, f.email(tenant.id, "pw@example.com", "How do I reset my password? I forgot it."))
    sio = await console.socket()
    chunks: list[dict[str, Any]] = []
    sio.on("suggestion", chunks.append, namespace="/copilot")
    try:
        ack = await sio.call("suggest", {"conversation_id": r.conversation_id}, namespace="/copilot", timeout=30)
        assert ack["ok"]
        await poll_until(lambda: any(c.get("done") for c in chunks), within=60)
    finally:
        await sio.disconnect()
    text_chunks = [c for c in chunks if not c["done"]]
    assert len(text_chunks) >= 1 and chunks[-1]["done"]  # streamed before the end marker
    final = chunks[-1]
    assert final["sources"] and any("password" in (s["title"] or "").lower() for s in final["sources"])
    draft = "".join(c["text"] for c in text_chunks)
    sent = await console.post(f"/console/api/conversations/{r.conversation_id}/reply",
                              {"text": draft + " Anything else?", "suggestion_id": final["suggestion_id"]})
    assert sent["suggestion"] == "edited"
