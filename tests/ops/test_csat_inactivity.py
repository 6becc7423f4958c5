"""CSAT surveys and answers (buttons and email links), and closing idle conversations."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from psycopg_pool import AsyncConnectionPool

from gateway.customer_actions import CustomerActionHandler
from gateway.ingest import ingest
from gateway.ops.csat import CsatService
from gateway.ops.inactivity import close_idle
from gateway.ops.routing import SkillRouter
from store import conversations, tenants
from store.models import ConversationStatus
from store.tenants import Tenant
from tests import factories as f
from tests.ops import seed
from tests.ops.seed import T0

S = ConversationStatus
BASE = "http://switchboard.test"


def at(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


async def resolved(pool: AsyncConnectionPool, tenant_id: int, channel: str, *, handed_off: bool = True) -> int:
    cid = await seed.conversation(pool, tenant_id, status="resolved", channel=channel, resolved_at=at(5))
    if handed_off:
        async with pool.connection() as conn:
            await conn.execute("INSERT INTO status_changes (tenant_id, conversation_id, from_status, to_status, actor)"
                               " VALUES (%s, %s, 'ai_active', 'pending_agent', 'ai')", (tenant_id, cid))
    return cid


async def test_chat_survey_buttons_take_one_answer_and_expire(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    now = {"t": at(10)}
    router = SkillRouter(clock=lambda: now["t"])
    service = CsatService(pool, BASE, router.clock)
    cid = await resolved(pool, tenant.id, "chat")
    late = await resolved(pool, tenant.id, "slack")
    assert sorted(await service.send_due(tenant.id, now=at(10))) == sorted([cid, late])
    assert await service.send_due(tenant.id, now=at(11)) == []  # asked once
    [msg] = await seed.rows(pool, "SELECT reply_kind, actions, author_kind FROM messages WHERE conversation_id = %s", cid)
    assert msg["reply_kind"] == "notice" and msg["author_kind"] == "system"
    assert [a["id"] for a in msg["actions"]] == ["csat_1", "csat_2", "csat_3", "csat_4", "csat_5"]
    assert len(await seed.rows(pool, "SELECT 1 FROM outbox WHERE conversation_id = %s AND channel = 'chat'", cid)) == 1

    press = CustomerActionHandler(pool, router, BASE)
    await press(tenant.id, cid, "csat_4", actor="visitor")
    await press(tenant.id, cid, "csat_1", actor="visitor")  # answered twice → stored once
    answers = await seed.rows(pool, "SELECT score, channel FROM csat_responses WHERE conversation_id = %s", cid)
    assert [(a["score"], a["channel"]) for a in answers] == [(4, "chat")]
    assert len(await seed.rows(pool, "SELECT 1 FROM audit_events WHERE action = 'csat.answered'")) == 1

    now["t"] = at(10) + timedelta(days=8)  # the survey lasted 7 days
    await press(tenant.id, late, "csat_5", actor="slack:T1:U1")
    assert await seed.rows(pool, "SELECT 1 FROM csat_responses WHERE conversation_id = %s", late) == []


async def test_auto_resolved_conversations_are_surveyed_only_if_the_tenant_says_so(
        pool: AsyncConnectionPool, tenant: Tenant) -> None:
    service = CsatService(pool, BASE)
    auto = await resolved(pool, tenant.id, "chat", handed_off=False)
    human = await resolved(pool, tenant.id, "chat")
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"csat": {"survey_auto_resolved": False}})
    assert await service.send_due(tenant.id, now=at(10)) == [human]
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"csat": {"survey_auto_resolved": True}})
    assert await service.send_due(tenant.id, now=at(10)) == [auto]


@pytest.fixture
async def csat_server(pool: AsyncConnectionPool) -> AsyncIterator[tuple[str, CsatService]]:
    service = CsatService(pool, BASE, lambda: at(20))
    app = web.Application()
    app.add_routes(service.routes())
    server = TestServer(app)
    await server.start_server()
    yield str(server.make_url("")).rstrip("/"), service
    await server.close()


async def test_email_link_answers_once_escapes_and_expires(pool: AsyncConnectionPool, tenant: Tenant,
                                                           csat_server: tuple[str, CsatService]) -> None:
    url, service = csat_server
    cid = await resolved(pool, tenant.id, "email")
    other = await resolved(pool, tenant.id, "email")
    await service.send_due(tenant.id, now=at(10))
    tokens = {}
    for conv in (cid, other):
        [msg] = await seed.rows(pool, "SELECT text FROM messages WHERE conversation_id = %s", conv)
        match = re.search(r"/csat/([A-Za-z0-9_-]+)", msg["text"])
        assert match, msg["text"]
        tokens[conv] = match.group(1)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/csat/{tokens[cid]}?score=4") as resp:
            page = await resp.text()
            assert resp.status == 200 and 'value="4" required checked' in page
            assert resp.headers["Cache-Control"] == "no-store"
        assert await seed.rows(pool, "SELECT 1 FROM csat_responses") == []  # opening the link changes nothing
        async with http.post(f"{url}/csat/{tokens[cid]}", data={"score": "9"}) as resp:
            assert resp.status == 422  # and the token is still good
        async with http.post(f"{url}/csat/{tokens[cid]}", data={"score": "5", "comment": "<b>great</b>"}) as resp:
            assert resp.status == 200 and "Thank you" in await resp.text()
        async with http.post(f"{url}/csat/{tokens[cid]}", data={"score": "1"}) as resp:
            assert resp.status == 410  # one-time
        async with pool.connection() as conn:
            await conn.execute("UPDATE one_time_tokens SET expires_at = now() - interval '1 second'"
                               " WHERE subject_id = %s", (other,))
        async with http.get(f"{url}/csat/{tokens[other]}") as resp:
            assert resp.status == 410 and "expired" in await resp.text()
        async with http.post(f"{url}/csat/{tokens[other]}", data={"score": "3"}) as resp:
            assert resp.status == 410
    answers = await seed.rows(pool, "SELECT conversation_id, score, comment, channel FROM csat_responses")
    assert [(a["conversation_id"], a["score"], a["comment"], a["channel"]) for a in answers] == [
        (cid, 5, "<b>great</b>", "email")]


async def test_idle_chat_closes_with_a_note_and_a_new_message_reopens_it(pool: AsyncConnectionPool,
                                                                         tenant: Tenant) -> None:
    first = await ingest(pool, f.chat(tenant.id, "visitor-1", "hello"))
    mail = await ingest(pool, f.email(tenant.id, "slow@example.com", "hello"))
    async with pool.connection() as conn:
        for cid in (first.conversation_id, mail.conversation_id):
            await conversations.transition(conn, tenant.id, cid, S.AI_ACTIVE, actor="ai")
            await conversations.transition(conn, tenant.id, cid, S.WAITING_CUSTOMER, actor="ai")
    now = datetime.now().astimezone()
    assert await close_idle(pool, tenant.id, now=now + timedelta(minutes=29)) == []
    assert await close_idle(pool, tenant.id, now=now + timedelta(minutes=31)) == [first.conversation_id]
    async with pool.connection() as conn:
        conv = await conversations.get(conn, tenant.id, first.conversation_id)
        assert conv.status is S.CLOSED
        assert (await conversations.get(conn, tenant.id, mail.conversation_id)).status is S.WAITING_CUSTOMER
        notes = await conversations.messages(conn, tenant.id, first.conversation_id, include_internal=True)
    assert "Closed automatically" in notes[-1].text and notes[-1].direction.value == "internal"
    assert await CsatService(pool, BASE).send_due(tenant.id, now=now + timedelta(minutes=32)) == []  # not surveyed

    again = await ingest(pool, f.chat(tenant.id, "visitor-1", "one more thing", conversation_id=first.conversation_id))
    assert again.conversation_id == first.conversation_id
    async with pool.connection() as conn:
        assert (await conversations.get(conn, tenant.id, first.conversation_id)).status not in (S.CLOSED, S.RESOLVED)
