"""KB gaps as a product feature: handoff conversations become topics, a topic becomes a KB draft, and a
draft is never retrieved for answers until an admin publishes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph.embedder import embed_many_async
from gateway.ingest import ingest
from gateway.replies import send_reply
from store import kb, triage
from store.models import AuthorKind, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories as f
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway, running_gateway

REFUNDS = [
    ("I was charged twice for my subscription this month, can I get a refund?",
     "Sorry about that. Duplicate charges are refunded automatically within 5 business days. "
     "You can see the refund under Billing > Invoices once it is processed."),
    ("My card got billed two times for the same plan. Please refund the extra payment.",
     "Thanks for reporting it. Duplicate charges are refunded automatically within 5 business days."),
    ("Double charge on my credit card for the monthly plan, I want my money back",
     "Duplicate charges are refunded automatically within 5 business days. "
     "If it does not appear after that, reply with the last four digits of the card."),
    ("You charged me twice for the subscription, how do I get a refund?",
     "Hi! Duplicate charges are refunded automatically within 5 business days."),
]
EXPORTS = [
    ("How can I export all my contacts to a CSV file?",
     "Go to Settings > Data > Export and choose CSV. The export is emailed to you as a download link."),
    ("Is there a way to download my customer list as CSV?",
     "Yes: open Settings > Data > Export, pick CSV, and we email you a download link."),
    ("I need to export my contact data into a spreadsheet, how?",
     "Open Settings > Data > Export and choose CSV; the download link arrives by email within minutes."),
]


@pytest.fixture
async def quiet_gateway(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    """No workers: the seeded conversations' agent runs are written by the test, not by the graph."""
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as gw:
        yield gw


async def seed_gap(pool: AsyncConnectionPool, tenant: Tenant, i: int, question: str, answer: str, *,
                   days_ago: int = 0) -> int:
    """A conversation the AI handed off and an agent answered."""
    got = await ingest(pool, f.email(tenant.id, f"c{i}@customer.test", question))
    async with pool.connection() as conn, conn.transaction():
        await triage.record_run(conn, tenant.id, got.conversation_id, got.message_id, decision="handoff", acted=True,
                                reason="low confidence", confidence=0.1, reply_message_id=None, backend="offline")
        await send_reply(conn, tenant.id, got.conversation_id, Reply(ReplyKind.ANSWER, answer),
                         author_kind=AuthorKind.AGENT, answers_message_id=got.message_id)
        if days_ago:
            await conn.execute("UPDATE conversations SET created_at = now() - make_interval(days => %s)"
                               " WHERE tenant_id = %s AND id = %s", (days_ago, tenant.id, got.conversation_id))
    return got.conversation_id


async def search_keys(pool: AsyncConnectionPool, tenant: Tenant, query: str) -> set[str]:
    vector = (await embed_many_async([query]))[0]
    async with pool.connection() as conn:
        hits = await kb.search(conn, tenant.id, query, vector, k=5)
        articles = {a.id: a.key for a in await kb.list_articles(conn, tenant.id)}
    return {articles[h.article_id] for h in hits}


async def test_gap_topics_become_drafts_that_answer_only_once_published(
        quiet_gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> None:
    refund_ids = [await seed_gap(pool, tenant, i, q, a, days_ago=10 if i == 3 else 0)
                  for i, (q, a) in enumerate(REFUNDS)]
    export_ids = [await seed_gap(pool, tenant, 10 + i, q, a) for i, (q, a) in enumerate(EXPORTS)]
    # Answered by the AI with confidence: not a gap.
    ok = await ingest(pool, f.email(tenant.id, "fine@customer.test", "Where do I find my invoices?"))
    async with pool.connection() as conn:
        await triage.record_run(conn, tenant.id, ok.conversation_id, ok.message_id, decision="answer", acted=True,
                                reason="strong match", confidence=0.9, reply_message_id=None, backend="offline")

    await make_agent(pool, tenant, "admin@acme.test", role="admin")
    admin = ConsoleClient(quiet_gateway.url)
    assert await admin.login("admin@acme.test", PASSWORD) == 303
    topics = (await admin.get("/console/api/admin/gaps"))["topics"]
    assert len(topics) == 2
    by_ids = {frozenset(t["conversation_ids"]): t for t in topics}
    refunds, exports = by_ids[frozenset(refund_ids)], by_ids[frozenset(export_ids)]
    assert (refunds["this_week"], refunds["last_week"], refunds["trend"]) == (3, 1, "up")
    assert (exports["volume"], exports["this_week"], exports["last_week"]) == (3, 3, 0)
    assert set(exports["examples"]) == {q for q, _ in EXPORTS}
    assert set(refunds["examples"]) <= {q for q, _ in REFUNDS}
    assert "Duplicate charges are refunded automatically within 5 business days." in refunds["outline"]
    assert not any(s.lower().startswith(("hi", "thanks", "sorry")) for s in refunds["outline"])
    assert any("Settings > Data > Export" in s for s in exports["outline"])

    # One click: an unpublished article holding the outline.
    made = await admin.post(f"/console/api/admin/gaps/{exports['key']}/draft", expect=201)
    key = made["article"]["key"]
    article = (await admin.get(f"/console/api/admin/kb/{key}"))["article"]
    assert article["status"] == "draft" and "Settings > Data > Export" in article["body"]
    assert "How can I export all my contacts to a CSV file?" in article["body"]
    reloaded = {t["key"]: t["draft_status"] for t in (await admin.get("/console/api/admin/gaps"))["topics"]}
    assert reloaded == {exports["key"]: "draft", refunds["key"]: None}

    # The draft is chunked and embedded but never retrieved until published.
    question = "How do I export my contacts as CSV?"
    assert key not in await search_keys(pool, tenant, question)
    await admin.post("/console/api/admin/kb-drafts/publish", {"key": key})
    assert key in await search_keys(pool, tenant, question)
    assert (await admin.get(f"/console/api/admin/kb/{key}"))["article"]["status"] == "published"
    # A published article is no longer a draft target.
    await admin.post(f"/console/api/admin/gaps/{exports['key']}/draft", expect=422)
    await admin.post("/console/api/admin/gaps/c999999/draft", expect=404)
    await admin.post("/console/api/admin/kb-drafts/publish", {"key": "../x"}, expect=422)
    await admin.close()


async def test_gaps_are_for_admins_only(quiet_gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> None:
    await make_agent(pool, tenant, "agent@acme.test")
    agent = ConsoleClient(quiet_gateway.url)
    assert await agent.login("agent@acme.test", PASSWORD) == 303
    await agent.get("/console/api/admin/gaps", expect=403)
    await agent.close()
