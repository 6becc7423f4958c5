"""Idempotency, tenant isolation, reopen, and what ingest refuses."""

from __future__ import annotations

import asyncio

import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import AGENT_RUN, IngestError, ingest
from store import conversations, jobs
from store.models import ConversationStatus
from store.tenants import Tenant
from tests import factories as f


async def test_fifty_concurrent_deliveries_of_one_external_id_store_one_message(
    pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    msg = f.email(tenant.id, "dup@example.com", "only once", message_id="<dup-1@example.com>")
    results = await asyncio.gather(*(ingest(pool, msg) for _ in range(50)))
    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM messages WHERE tenant_id = %s", (tenant.id,))
        assert (await cur.fetchone())["n"] == 1
        cur = await conn.execute("SELECT count(*) AS n FROM customers WHERE tenant_id = %s", (tenant.id,))
        assert (await cur.fetchone())["n"] == 1
        cur = await conn.execute("SELECT count(*) AS n FROM jobs WHERE tenant_id = %s", (tenant.id,))
        assert (await cur.fetchone())["n"] == 1


async def test_concurrent_first_messages_from_one_new_address_make_one_customer(
    pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    results = await asyncio.gather(*(ingest(pool, f.email(tenant.id, "new@example.com", f"m{i}")) for i in range(20)))
    assert len({r.customer_id for r in results}) == 1
    seqs = sorted(r.seq for r in results if r.conversation_id == results[0].conversation_id)
    assert seqs == list(range(1, len(seqs) + 1))  # gap-free per-conversation sequence


async def test_tenants_are_isolated(pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant) -> None:
    a = await ingest(pool, f.email(tenant.id, "same@example.com", "tenant A secret"))
    b = await ingest(pool, f.email(other_tenant.id, "same@example.com", "tenant B secret"))
    assert a.customer_id != b.customer_id and a.conversation_id != b.conversation_id
    async with pool.connection() as conn:
        with pytest.raises(conversations.NotFound):
            await conversations.get(conn, other_tenant.id, a.conversation_id)
        assert await conversations.messages(conn, other_tenant.id, a.conversation_id) == []
        mine = await conversations.list_for_customers(conn, tenant.id, [a.customer_id, b.customer_id])
    assert [c.id for c in mine] == [a.conversation_id]
    # The same external id in two tenants is two messages.
    x = await ingest(pool, f.email(tenant.id, "z@example.com", "x", message_id="<shared@x>"))
    y = await ingest(pool, f.email(other_tenant.id, "z@example.com", "y", message_id="<shared@x>"))
    assert not x.duplicate and not y.duplicate and x.message_id != y.message_id


async def test_message_on_resolved_conversation_reopens_it(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    first = await ingest(pool, f.email(tenant.id, "re@example.com", "help"))
    async with pool.connection() as conn:
        await conversations.transition(conn, tenant.id, first.conversation_id, ConversationStatus.RESOLVED, actor="t")
    again = await ingest(pool, f.email(tenant.id, "re@example.com", "it broke again"))
    assert again.conversation_id == first.conversation_id
    async with pool.connection() as conn:
        conv = await conversations.get(conn, tenant.id, first.conversation_id)
    assert conv.status is ConversationStatus.AI_ACTIVE


async def test_flagged_mail_is_stored_but_never_queued_for_an_answer(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    from dataclasses import replace

    ooo = replace(f.email(tenant.id, "away@example.com", "I am out of office"), flags=("auto_reply",))
    r = await ingest(pool, ooo)
    async with pool.connection() as conn:
        assert await jobs.claim(conn, [AGENT_RUN]) is None
        msgs = await conversations.messages(conn, tenant.id, r.conversation_id)
    assert msgs[0].flags == ("auto_reply",)


async def test_bad_input_names_the_field(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    from dataclasses import replace

    with pytest.raises(IngestError) as err:
        await ingest(pool, replace(f.email(tenant.id, "a@b.c"), external_id=""))
    assert err.value.field == "external_id"
    with pytest.raises(IngestError) as err:
        await ingest(pool, replace(f.email(tenant.id, "a@b.c"), text="x" * 200_001))
    assert err.value.field == "text"
    with pytest.raises(IngestError) as err:
        await ingest(pool, replace(f.email(tenant.id, "a@b.c"), tenant_id=999_999))
    assert err.value.field == "tenant_id"


async def test_state_machine_refuses_forbidden_transitions(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    r = await ingest(pool, f.email(tenant.id, "sm@example.com"))
    async with pool.connection() as conn:
        with pytest.raises(conversations.TransitionError):
            await conversations.transition(conn, tenant.id, r.conversation_id, ConversationStatus.CLOSED, actor="t")
        await conversations.transition(conn, tenant.id, r.conversation_id, ConversationStatus.AI_ACTIVE, actor="t")
        await conversations.transition(conn, tenant.id, r.conversation_id, ConversationStatus.WAITING_CUSTOMER, actor="t")
        cur = await conn.execute("SELECT sla_paused_at FROM conversations WHERE id = %s", (r.conversation_id,))
        assert (await cur.fetchone())["sla_paused_at"] is not None
        cur = await conn.execute(
            "SELECT from_status, to_status FROM status_changes WHERE tenant_id = %s AND conversation_id = %s ORDER BY id",
            (tenant.id, r.conversation_id))
        assert [(x["from_status"], x["to_status"]) for x in await cur.fetchall()] == [
            ("new", "ai_active"), ("ai_active", "waiting_customer")]
