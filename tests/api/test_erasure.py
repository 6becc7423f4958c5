"""GDPR erasure of one customer and deletion of a whole tenant leave nothing behind, in any table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent_graph.runner import AgentRunner
from gateway.cli import _parser
from gateway.ingest import ingest
from gateway.tenant_cli import run_on
from store import (
    audit,
    customers,
    notifications,
    one_time_tokens,
    outbox,
    past_conversations,
    suggestions,
    webhooks,
)
from store.models import Channel
from store.tenants import Tenant
from tests import factories as f
from tests.api.conftest import call, make_token
from tests.api.leftovers import customer_rows, tenant_rows
from tests.copilot.console_client import make_agent
from tests.servers.gateway import RunningGateway


async def populate(pool: AsyncConnectionPool, runner: AgentRunner, tenant: Tenant, *, email: str, words: str
                   ) -> dict[str, Any]:
    """A customer who wrote by email (answered by the real agent graph, so checkpoints, classifications,
    runs and outbox rows exist), then by chat, verified the address (a merge), got a suggestion, a
    notification, a resolved-conversation embedding, a verification token and mail, webhook events."""
    async with pool.connection() as conn:  # webhook events about them are outbox rows that quote them
        await webhooks.create(conn, tenant.id, url="http://127.0.0.1:9/hook", events=["message.created"],
                              created_by="test")
    first = await ingest(pool, f.email(tenant.id, email, f"{words} I was charged twice for my invoice"))
    await runner.run(tenant.id, first.conversation_id, first.message_id)
    visitor = f"v-{uuid.uuid4().hex[:8]}"
    chat = await ingest(pool, f.chat(tenant.id, visitor, f"{words} hello from the chat", typed_email=email))
    agent_id = await make_agent(pool, tenant, f"agent-{uuid.uuid4().hex[:6]}@{tenant.slug}.test")
    async with pool.connection() as conn, conn.transaction():
        await customers.verify_claim(conn, tenant.id, chat.customer_id, email, actor="visitor:verified-email-link")
        await suggestions.record(conn, tenant.id, first.conversation_id, agent_id, f"draft: sorry {words}", ())
        await notifications.create(conn, tenant.id, agent_id, kind="sla", title=f"Reply to {words}", body=words,
                                   dedupe_key=f"n:{first.conversation_id}", now=datetime.now(UTC),
                                   conversation_id=first.conversation_id)
        await past_conversations.remember(conn, tenant.id, first.conversation_id, question=f"{words} charged twice",
                                          answer="refunded", category="billing", embedding=np.ones(384))
        await one_time_tokens.issue(conn, tenant.id, purpose="verify_email", subject_id=chat.customer_id,
                                    data={"email": email}, ttl_seconds=3600)
        await outbox.enqueue(conn, tenant.id, channel=Channel.EMAIL, idempotency_key=f"verify:{uuid.uuid4().hex}",
                             payload={"kind": "notice", "to": email, "body": {"text": "confirm"}})
        await audit.record(conn, tenant.id, actor=f"agent:{agent_id}", action="conversation.viewed",
                           subject_type="conversation", subject_id=first.conversation_id, details={"note": words})
        conv_ids = [first.conversation_id, chat.conversation_id]
        cur = await conn.execute("SELECT id FROM messages WHERE conversation_id = ANY(%s)", (conv_ids,))
        message_ids = [r["id"] for r in await cur.fetchall()]
        cur = await conn.execute("SELECT count(*) AS n FROM checkpoints WHERE thread_id = %s",
                                 (f"{tenant.id}:{first.conversation_id}",))
        assert (await cur.fetchone())["n"] > 0  # the graph really ran
    return {"customer_ids": sorted({first.customer_id, chat.customer_id}), "conversation_ids": conv_ids,
            "message_ids": message_ids, "markers": [email, words]}


async def test_erasure_leaves_nothing_of_the_customer(api: RunningGateway, http: aiohttp.ClientSession,
                                                      pool: AsyncConnectionPool, runner: AgentRunner,
                                                      kb_tenant: Tenant, other_tenant: Tenant) -> None:
    alice = await populate(pool, runner, kb_tenant, email="alice@example.com", words="zorblax-alice")
    bob = await populate(pool, runner, kb_tenant, email="bob@example.com", words="quentar-bob")
    other = await populate(pool, runner, other_tenant, email="alys@example.org", words="vimtrol-other")
    url = f"{api.url}/api/v1/customers/{alice['customer_ids'][0]}"

    write = await make_token(pool, kb_tenant.id, "read,write")
    status, _, body = await call(http, "DELETE", url, write)
    assert status == 403 and body["error"]["field"] == "Authorization"
    foreign_admin = await make_token(pool, other_tenant.id, "admin")
    status, _, body = await call(http, "DELETE", url, foreign_admin)
    assert status == 404 and body["error"] == {"code": "not_found", "field": "id",
                                               "message": f"customer {alice['customer_ids'][0]} not found"}

    admin = await make_token(pool, kb_tenant.id, "admin")
    # Erasing the merged-away chat customer erases the person: the whole merged group.
    status, _, body = await call(http, "DELETE", f"{api.url}/api/v1/customers/{alice['customer_ids'][1]}", admin)
    assert status == 200, body
    assert sorted(body["erased_customer_ids"]) == alice["customer_ids"]
    assert body["conversations"] == 2 and body["messages"] == len(alice["message_ids"])

    async with pool.connection() as conn:
        left = await customer_rows(conn, kb_tenant.id, **alice)
        assert left == [], "\n".join(left)
        for kept, tenant in ((bob, kb_tenant), (other, other_tenant)):
            left = await customer_rows(conn, tenant.id, **kept)
            assert any(row.startswith("messages.conversation_id") for row in left), left
            assert any("checkpoints" in row for row in left) and any("resolved_conversations" in row for row in left)
        cur = await conn.execute("SELECT action, details FROM audit_events WHERE tenant_id = %s AND subject_id = ANY(%s)"
                                 " AND subject_type IN ('customer', 'conversation') ORDER BY id",
                                 (kb_tenant.id, alice["customer_ids"] + alice["conversation_ids"]))
        trail = [(r["action"], r["details"]) for r in await cur.fetchall()]
    # Who did what stays; what it said about the person does not.
    assert ("conversation.viewed", {"erased": True}) in trail and ("customer.merged", {"erased": True}) in trail
    assert trail[-1] == ("customer.erased", {"customers": 2, "conversations": 2,
                                             "messages": len(alice["message_ids"]), "identities": 3})
    status, _, _ = await call(http, "DELETE", url, admin)
    assert status == 404


async def test_tenant_deletion_leaves_no_row_of_the_tenant(pool: AsyncConnectionPool, runner: AgentRunner,
                                                           kb_tenant: Tenant, other_tenant: Tenant,
                                                           capsys: Any) -> None:
    await populate(pool, runner, kb_tenant, email="alice@example.com", words="zorblax-alice")
    await populate(pool, runner, other_tenant, email="alice@example.com", words="vimtrol-other")
    await make_token(pool, kb_tenant.id, "admin")
    async with pool.connection() as conn:
        before = await tenant_rows(conn, kb_tenant.id)
        kept = await tenant_rows(conn, other_tenant.id)
    assert before["checkpoints"] and before["kb_chunks"] and before["api_tokens"] and before["customer_merges"]

    assert await run_on(pool, _parser().parse_args(["tenant", "delete", kb_tenant.slug]), base_url="") == 2
    assert "add --yes" in capsys.readouterr().err
    assert await run_on(pool, _parser().parse_args(["tenant", "delete", kb_tenant.slug, "--yes"]), base_url="") == 0

    async with pool.connection() as conn:
        after = await tenant_rows(conn, kb_tenant.id)
        assert {t: n for t, n in after.items() if n} == {}
        assert await tenant_rows(conn, other_tenant.id) == kept
    assert await run_on(pool, _parser().parse_args(["tenant", "delete", kb_tenant.slug, "--yes"]), base_url="") == 2
