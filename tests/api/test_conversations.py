"""Conversations over REST: intake through ingest, tenant isolation, notes by scope, stable pagination."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import conversations
from store.models import AuthorKind, Channel, Direction
from store.tenants import Tenant
from tests import factories as f
from tests.api.conftest import call, make_token
from tests.ops import seed
from tests.ops.seed import T0
from tests.servers.gateway import RunningGateway


async def test_create_is_idempotent_and_readable(api: RunningGateway, http: aiohttp.ClientSession,
                                                 pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    write = await make_token(pool, kb_tenant.id, "write")
    read = await make_token(pool, kb_tenant.id, "read")
    body = {"external_id": "ticket-77", "customer": {"external_id": "crm:4711", "name": "Ann"},
            "subject": "Invoice", "text": "I was charged twice this month"}
    status, _, first = await call(http, "POST", f"{api.url}/api/v1/conversations", write, json=body)
    assert status == 201 and first["duplicate"] is False and first["created_conversation"] is True
    status, _, again = await call(http, "POST", f"{api.url}/api/v1/conversations", write, json=body)
    assert status == 200 and again["duplicate"] is True and again["conversation_id"] == first["conversation_id"]
    status, _, conv = await call(http, "GET", f"{api.url}/api/v1/conversations/{first['conversation_id']}", read)
    assert status == 200 and conv["channel"] == "api" and conv["subject"] == "Invoice"
    assert [(m["direction"], m["text"]) for m in conv["messages"]] == [("in", "I was charged twice this month")]


async def test_bad_input_names_the_field(api: RunningGateway, http: aiohttp.ClientSession,
                                         pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    write = await make_token(pool, kb_tenant.id, "write,read")
    status, _, err = await call(http, "POST", f"{api.url}/api/v1/conversations", write,
                                json={"external_id": "x", "customer": {}, "text": "hi"})
    assert status == 422 and err["error"]["field"] == "customer" and err["error"]["code"] == "invalid"
    status, _, err = await call(http, "POST", f"{api.url}/api/v1/conversations", write,
                                json={"external_id": "x", "customer": {"email": "nope"}, "text": "hi"})
    assert status == 422 and err["error"]["field"] == "customer.email"
    status, _, err = await call(http, "GET", f"{api.url}/api/v1/conversations?status=bogus", write)
    assert status == 422 and err["error"]["field"] == "status"
    status, _, err = await call(http, "GET", f"{api.url}/api/v1/conversations?cursor=zzz", write)
    assert status == 422 and err["error"]["field"] == "cursor"
    status, _, err = await call(http, "POST", f"{api.url}/api/v1/conversations", write, data=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert status == 400 and err["error"]["code"] == "bad_json"


async def test_other_tenants_conversation_is_not_found(api: RunningGateway, http: aiohttp.ClientSession,
                                                       pool: AsyncConnectionPool, kb_tenant: Tenant,
                                                       other_tenant: Tenant) -> None:
    theirs = await ingest(pool, f.email(other_tenant.id, "bob@globex.test", "private"))
    mine = await make_token(pool, kb_tenant.id, "admin")
    status, _, err = await call(http, "GET", f"{api.url}/api/v1/conversations/{theirs.conversation_id}", mine)
    assert status == 404 and err["error"] == {"code": "not_found", "field": "id",
                                              "message": f"conversation {theirs.conversation_id} not found"}
    status, _, page = await call(http, "GET", f"{api.url}/api/v1/conversations", mine)
    assert status == 200 and page["data"] == []


async def test_internal_notes_only_with_admin_scope(api: RunningGateway, http: aiohttp.ClientSession,
                                                    pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    res = await ingest(pool, f.email(kb_tenant.id, "ann@example.com", "My invoice is wrong"))
    async with pool.connection() as conn:
        await conversations.append_message(conn, kb_tenant.id, res.conversation_id, direction=Direction.INTERNAL,
                                           author_kind=AuthorKind.AGENT, channel=Channel.EMAIL, text="VIP, be quick")
    url = f"{api.url}/api/v1/conversations/{res.conversation_id}"
    _, _, plain = await call(http, "GET", url, await make_token(pool, kb_tenant.id, "read"))
    _, _, admin = await call(http, "GET", url, await make_token(pool, kb_tenant.id, "admin"))
    assert [m["text"] for m in plain["messages"]] == ["My invoice is wrong"]
    assert [m["text"] for m in admin["messages"]] == ["My invoice is wrong", "VIP, be quick"]


async def test_filters(api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool,
                       kb_tenant: Tenant) -> None:
    by_mail = await ingest(pool, f.email(kb_tenant.id, "a@example.com", "mail"))
    by_chat = await ingest(pool, f.chat(kb_tenant.id, "visitor-1", "chat"))
    async with pool.connection() as conn:
        await conversations.transition(conn, kb_tenant.id, by_chat.conversation_id,
                                       conversations.S.AI_ACTIVE, actor="test", reason="test")
    read = await make_token(pool, kb_tenant.id, "read")
    base = f"{api.url}/api/v1/conversations"
    ids = lambda page: [c["id"] for c in page["data"]]  # noqa: E731
    assert ids((await call(http, "GET", f"{base}?channel=email", read))[2]) == [by_mail.conversation_id]
    assert ids((await call(http, "GET", f"{base}?status=ai_active", read))[2]) == [by_chat.conversation_id]
    assert ids((await call(http, "GET", f"{base}?status=new&channel=chat", read))[2]) == []
    assert ids((await call(http, "GET", base, read))[2]) == [by_chat.conversation_id, by_mail.conversation_id]


async def test_pagination_is_stable_under_concurrent_inserts(api: RunningGateway, http: aiohttp.ClientSession,
                                                             pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    existing = [(await ingest(pool, f.chat(kb_tenant.id, f"v-{i}", f"question {i}"))).conversation_id
                for i in range(23)]
    read = await make_token(pool, kb_tenant.id, "read")
    walking = asyncio.Event()

    async def insert_more() -> list[int]:
        await walking.wait()
        made = []
        for i in range(15):
            made.append((await ingest(pool, f.chat(kb_tenant.id, f"late-{i}", "late"))).conversation_id)
            await asyncio.sleep(0)
        return made

    inserter = asyncio.create_task(insert_more())
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        url = f"{api.url}/api/v1/conversations?limit=5" + (f"&cursor={cursor}" if cursor else "")
        status, _, page = await call(http, "GET", url, read)
        assert status == 200
        seen += [c["id"] for c in page["data"]]
        pages += 1
        walking.set()
        await asyncio.sleep(0.01)  # let inserts land between pages
        cursor = page["next_cursor"]
        if cursor is None:
            break
    late = await inserter
    assert len(seen) == len(set(seen)), "a conversation was returned twice"
    assert sorted(seen) == sorted(existing), "the walk skipped or invented conversations"
    assert pages == 5 and not set(late) & set(seen)
    _, _, fresh = await call(http, "GET", f"{api.url}/api/v1/conversations?limit=100", read)
    assert [c["id"] for c in fresh["data"]] == sorted(existing + late, reverse=True)


async def test_filters_by_assignee_urgency_category_and_creation_time(
        api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool, kb_tenant: Tenant,
        other_tenant: Tenant) -> None:
    ann = await seed.agent(pool, kb_tenant.id, "ann")
    bob = await seed.agent(pool, kb_tenant.id, "bob")
    hour = timedelta(hours=1)
    c1 = await seed.conversation(pool, kb_tenant.id, created_at=T0, status="assigned", urgency="high",
                                 category="billing", assignee_id=ann)
    c2 = await seed.conversation(pool, kb_tenant.id, created_at=T0 + hour, status="assigned", urgency="low",
                                 category="technical", assignee_id=bob)
    c3 = await seed.conversation(pool, kb_tenant.id, created_at=T0 + 2 * hour, urgency="high", category="billing")
    theirs_agent = await seed.agent(pool, other_tenant.id, "carol")
    theirs = await seed.conversation(pool, other_tenant.id, created_at=T0 + hour, status="assigned", urgency="high",
                                     category="billing", assignee_id=theirs_agent)
    read = await make_token(pool, kb_tenant.id, "read")
    base = f"{api.url}/api/v1/conversations"

    async def ids(secret: str = read, **query: str) -> list[int]:
        status, _, page = await call(http, "GET", base, secret, params=query)
        assert status == 200, (query, page)
        return [c["id"] for c in page["data"]]

    assert await ids(assignee=str(ann)) == [c1]
    assert await ids(assignee=str(bob)) == [c2]
    assert await ids(urgency="high") == [c3, c1]
    assert await ids(urgency="critical") == []
    assert await ids(category="billing") == [c3, c1]
    assert await ids(created_after=(T0 + hour).isoformat()) == [c3, c2]  # inclusive
    assert await ids(created_before=(T0 + hour).isoformat()) == [c1]  # exclusive: adjacent windows tile
    assert await ids(created_after="2024-06-03T09:00:00Z", created_before="2024-06-03T10:00:00Z") == [c2]
    assert await ids(created_after="2024-06-03T11:00:00+02:00") == [c3, c2]  # 09:00 UTC, offset honoured
    status, _, page = await call(http, "GET", f"{base}?created_after=2024-06-03T11:00:00+02:00", read)
    assert status == 200 and [c["id"] for c in page["data"]] == [c3, c2]  # an unencoded "+" arrives as " "
    assert await ids(urgency="high", category="billing", created_after="2024-06-03T08:30:00Z") == [c3]
    assert await ids(assignee=str(ann), status="assigned", channel="chat") == [c1]
    # Tenant-scoped: the other tenant's matching conversation and agent are invisible here, and vice versa.
    assert await ids(assignee=str(theirs_agent)) == []
    assert theirs not in await ids(urgency="high", category="billing")
    assert await ids(await make_token(pool, other_tenant.id, "read"), assignee=str(ann)) == []

    # Filters compose with the cursor: the walk covers exactly the filtered rows, page by page.
    walked: list[int] = []
    query = {"urgency": "high", "limit": "1"}
    while True:
        status, _, page = await call(http, "GET", base, read, params=query)
        assert status == 200 and len(page["data"]) <= 1
        walked += [c["id"] for c in page["data"]]
        if page["next_cursor"] is None:
            break
        query = {**query, "cursor": page["next_cursor"]}
    assert walked == [c3, c1]


async def test_filter_values_are_validated_with_the_field_named(api: RunningGateway, http: aiohttp.ClientSession,
                                                                 pool: AsyncConnectionPool, kb_tenant: Tenant) -> None:
    read = await make_token(pool, kb_tenant.id, "read")
    bad = [("assignee", "ann"), ("assignee", "0"), ("urgency", "urgent"), ("category", "Not A Slug"),
           ("created_after", "1717401600"), ("created_after", "2024-06-03"), ("created_after", "yesterday"),
           ("created_before", "2024-06-03T08:00:00"), ("created_before", "2024-13-03T08:00:00Z")]
    for name, value in bad:
        status, _, err = await call(http, "GET", f"{api.url}/api/v1/conversations", read, params={name: value})
        assert status == 422, (name, value, err)
        assert set(err) == {"error"} and set(err["error"]) == {"code", "message", "field"}
        assert (err["error"]["code"], err["error"]["field"]) == ("invalid", name), (value, err)
    status, _, err = await call(http, "GET", f"{api.url}/api/v1/conversations", read,
                                params={"created_after": "2024-06-03T09:00:00Z", "created_before": "2024-06-03T09:00:00Z"})
    assert status == 422 and err["error"]["field"] == "created_before", err
    assert "created_after" in err["error"]["message"]


async def test_list_filters_are_in_the_openapi_document(api: RunningGateway, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/openapi.json") as resp:
        doc = await resp.json()
    params = {p["name"]: p for p in doc["paths"]["/api/v1/conversations"]["get"]["parameters"]}
    assert {"assignee", "urgency", "category", "created_after", "created_before"} <= set(params)
    assert all(params[n]["in"] == "query" and not params[n]["required"] for n in params)
    schema = {n: p["schema"]["anyOf"][0] for n, p in params.items() if "anyOf" in p["schema"]}
    assert schema["assignee"]["type"] == "integer"
    assert schema["urgency"]["enum"] == ["critical", "high", "medium", "low"]
    assert "pattern" in schema["category"]
    assert schema["created_after"]["format"] == schema["created_before"]["format"] == "date-time"
