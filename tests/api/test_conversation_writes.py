"""REST writes to conversations: status through the state machine, assignee, urgency, replies that reach
the customer's channel and notes that never do."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from psycopg_pool import AsyncConnectionPool

from gateway.app import services
from gateway.dispatcher import Dispatcher
from gateway.ingest import ingest
from store import outbox
from store.models import Channel
from store.tenants import Tenant
from tests import factories as f
from tests.api.conftest import call, make_token
from tests.channels.test_chat import Visitor, session_token
from tests.copilot.console_client import make_agent
from tests.servers.gateway import RunningGateway


def conv_url(api: RunningGateway, cid: int, tail: str = "") -> str:
    return f"{api.url}/api/v1/conversations/{cid}{tail}"


async def test_scopes_are_enforced(api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
                                   tenant: Tenant) -> None:
    r = await ingest(pool, f.email(tenant.id, "ann@acme.test"))
    read = await make_token(pool, tenant.id, "read,classify")
    for method, tail, body in (("PATCH", "", {"status": "resolved"}), ("POST", "/replies", {"text": "hi"}),
                               ("POST", "/notes", {"text": "hi"})):
        status, headers, _ = await call(http, method, conv_url(api, r.conversation_id, tail), None, json=body)
        assert status == 401 and "Bearer" in headers["WWW-Authenticate"]
        status, _, err = await call(http, method, conv_url(api, r.conversation_id, tail), read, json=body)
        assert status == 403 and err["error"]["code"] == "forbidden", (method, tail)


async def test_patch_goes_through_the_state_machine(api: RunningGateway, http: aiohttp.ClientSession,
                                                    pool: AsyncConnectionPool, tenant: Tenant,
                                                    other_tenant: Tenant) -> None:
    r = await ingest(pool, f.email(tenant.id, "ann@acme.test"))
    write = await make_token(pool, tenant.id, "write")
    agent = await make_agent(pool, tenant, "agent@acme.test")
    stranger = await make_agent(pool, other_tenant, "agent@globex.test")
    url = conv_url(api, r.conversation_id)

    status, _, err = await call(http, "PATCH", url, write, json={"assignee_id": stranger})
    assert status == 422 and err["error"]["field"] == "assignee_id"
    status, _, conv = await call(http, "PATCH", url, write, json={"assignee_id": agent, "urgency": "critical"})
    assert status == 200 and (conv["status"], conv["assignee_id"], conv["urgency"]) == ("assigned", agent, "critical")
    status, _, conv = await call(http, "PATCH", url, write, json={"status": "resolved"})
    assert status == 200 and conv["status"] == "resolved"
    status, _, err = await call(http, "PATCH", url, write, json={"status": "new"})
    assert status == 409 and err["error"]["field"] == "status" and err["error"]["code"] == "conflict"
    status, _, err = await call(http, "PATCH", url, write, json={"urgency": "whenever"})
    assert status == 422 and err["error"]["field"] == "urgency"
    status, _, err = await call(http, "PATCH", url, write, json={})
    assert status == 422 and err["error"]["field"] == "body"
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT from_status, to_status, actor FROM status_changes WHERE tenant_id = %s"
                                 " AND conversation_id = %s ORDER BY id", (tenant.id, r.conversation_id))
        moves = [(row["from_status"], row["to_status"], row["actor"].split(":")[0]) for row in await cur.fetchall()]
    assert moves[-2:] == [("new", "assigned", "api"), ("assigned", "resolved", "api")]


async def test_reply_reaches_the_customers_chat(api: RunningGateway, http: aiohttp.ClientSession,
                                                pool: AsyncConnectionPool, tenant: Tenant) -> None:
    tok = await session_token(api.url, tenant.slug)
    visitor = Visitor()
    await visitor.connect(api.url, tok["token"])
    try:
        sent = await visitor.call("message", {"client_id": "c-1", "text": "Where is my parcel?"})
        cid = sent["conversation_id"]
        write = await make_token(pool, tenant.id, "write")
        status, _, err = await call(http, "POST", conv_url(api, cid, "/replies"), write, json={"text": "On its way"})
        assert status == 422 and err["error"]["field"] == "agent_id"  # no assignee to reply as
        agent = await make_agent(pool, tenant, "agent@acme.test")
        status, _, out = await call(http, "POST", conv_url(api, cid, "/replies"), write,
                                    json={"text": "It ships today", "agent_id": agent})
        assert status == 201 and out["channel"] == "chat"
        assert (out["conversation"]["status"], out["conversation"]["assignee_id"]) == ("waiting_customer", agent)
        dispatcher = Dispatcher(pool, {Channel.CHAT: services(api.app)["chat"].sender})
        await poll_until_delivered(dispatcher, visitor, "It ships today")
    finally:
        await visitor.sio.disconnect()


async def poll_until_delivered(dispatcher: Dispatcher, visitor: Visitor, text: str, within: float = 10) -> None:
    """Runs the real dispatcher pass by pass until the visitor's socket got the text (with a deadline)."""
    deadline = time.monotonic() + within
    while not any(m.get("text") == text for m in visitor.pushed):
        assert time.monotonic() < deadline, f"reply not pushed to the visitor; got {visitor.pushed}"
        await dispatcher.run_once()
        await asyncio.sleep(0.05)


async def test_note_never_reaches_the_customer(api: RunningGateway, http: aiohttp.ClientSession,
                                               pool: AsyncConnectionPool, tenant: Tenant) -> None:
    r = await ingest(pool, f.email(tenant.id, "ann@acme.test"))
    write = await make_token(pool, tenant.id, "write,read")
    admin = await make_token(pool, tenant.id, "admin")
    agent = await make_agent(pool, tenant, "agent@acme.test")
    status, _, out = await call(http, "POST", conv_url(api, r.conversation_id, "/notes"), write,
                                json={"text": "VIP: call back", "agent_id": agent})
    assert status == 201 and out["conversation"]["status"] == "new"
    async with pool.connection() as conn:
        assert await outbox.for_conversation(conn, tenant.id, r.conversation_id) == []
        cur = await conn.execute("SELECT count(*) AS n FROM outbox WHERE tenant_id = %s AND message_id = %s",
                                 (tenant.id, out["message_id"]))
        assert (await cur.fetchone())["n"] == 0
    _, _, seen = await call(http, "GET", conv_url(api, r.conversation_id), write)
    assert "VIP: call back" not in [m["text"] for m in seen["messages"]]
    _, _, seen = await call(http, "GET", conv_url(api, r.conversation_id), admin)
    assert [(m["direction"], m["text"]) for m in seen["messages"]][-1] == ("internal", "VIP: call back")
    status, _, err = await call(http, "POST", conv_url(api, r.conversation_id, "/notes"), write, json={"text": "  "})
    assert status == 422 and err["error"]["field"] == "text"


async def test_another_tenants_conversation_is_not_found(api: RunningGateway, http: aiohttp.ClientSession,
                                                         pool: AsyncConnectionPool, tenant: Tenant,
                                                         other_tenant: Tenant) -> None:
    theirs = await ingest(pool, f.email(other_tenant.id, "bob@globex.test"))
    agent = await make_agent(pool, tenant, "agent@acme.test")
    mine = await make_token(pool, tenant.id, "admin")
    for method, tail, body in (("PATCH", "", {"status": "resolved"}),
                               ("POST", "/replies", {"text": "hi", "agent_id": agent}),
                               ("POST", "/notes", {"text": "hi"})):
        status, _, err = await call(http, method, conv_url(api, theirs.conversation_id, tail), mine, json=body)
        assert status == 404 and err["error"]["field"] == "id", (method, tail)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT status, last_seq FROM conversations WHERE id = %s", (theirs.conversation_id,))
        assert dict(await cur.fetchone()) == {"status": "new", "last_seq": 1}
