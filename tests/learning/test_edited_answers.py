"""Agent-edited suggestions feed retrieval: the edited text is remembered, not the draft, and ranks first.

Two customers ask the same question. In one conversation the agent corrected the AI's draft before
sending (and then added a "glad to help"); in the other the AI's own answer (the same text as that
draft) solved it. Both are indexed by the real worker path (``AgentRunner.remember_resolved``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph.embedder import embed
from agent_graph.runner import AgentRunner
from gateway.ingest import ingest
from gateway.replies import AIReplySink, send_reply
from gateway.routing import SkillRouter
from store import conversations, past_conversations, suggestions
from store.models import AuthorKind, ConversationStatus, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories as f
from tests.copilot.console_client import make_agent

BASE = "http://switchboard.test"
QUESTION = "How do I export my invoices as a PDF?"
DRAFT = "Go to Settings → Export and pick CSV."
EDITED = "Open Billing → Invoices, select the months you need and press Download PDF."


@pytest.fixture
async def runner(pool: AsyncConnectionPool) -> AsyncIterator[AgentRunner]:
    r = AgentRunner(pool, reply_sink=AIReplySink(BASE), router=SkillRouter(BASE))
    yield r
    await r.close()


async def _resolve(pool: AsyncConnectionPool, tenant: Tenant, cid: int) -> None:
    async with pool.connection() as conn, conn.transaction():
        await conversations.transition(conn, tenant.id, cid, ConversationStatus.RESOLVED, actor="test", reason="solved")


async def test_edited_answer_is_remembered_instead_of_the_draft_and_ranks_above_the_ai_answer(
    pool: AsyncConnectionPool, tenant: Tenant, runner: AgentRunner
) -> None:
    ann = await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    edited = await ingest(pool, f.email(tenant.id, "first@example.com", QUESTION))
    async with pool.connection() as conn, conn.transaction():
        for status in (ConversationStatus.AI_ACTIVE, ConversationStatus.PENDING_AGENT):
            await conversations.transition(conn, tenant.id, edited.conversation_id, status, actor="ai", reason="test")
        await conversations.assign(conn, tenant.id, edited.conversation_id, ann, actor="test")
        draft_id = await suggestions.record(conn, tenant.id, edited.conversation_id, ann, DRAFT, ())
        sent = await send_reply(conn, tenant.id, edited.conversation_id, Reply(ReplyKind.ANSWER, EDITED),
                                author_kind=AuthorKind.AGENT, author_id=ann, answers_message_id=edited.message_id)
        assert await suggestions.decide(conn, tenant.id, draft_id, sent_text=EDITED, sent_message_id=sent.id) == "edited"
        # A later pleasantry is not the solution; the corrected draft still is.
        await send_reply(conn, tenant.id, edited.conversation_id, Reply(ReplyKind.ANSWER, "Glad I could help!"),
                         author_kind=AuthorKind.AGENT, author_id=ann)

    ai_only = await ingest(pool, f.email(tenant.id, "second@example.com", QUESTION))
    async with pool.connection() as conn, conn.transaction():
        await conversations.transition(conn, tenant.id, ai_only.conversation_id, ConversationStatus.AI_ACTIVE,
                                       actor="ai", reason="test")
        await send_reply(conn, tenant.id, ai_only.conversation_id, Reply(ReplyKind.ANSWER, DRAFT),
                         author_kind=AuthorKind.AI, answers_message_id=ai_only.message_id)
    for r in (ai_only, edited):  # the AI-only one first: it must not win by recency either
        await _resolve(pool, tenant, r.conversation_id)
        assert await runner.remember_resolved(tenant.id, r.conversation_id)

    async with pool.connection() as conn:
        cur = await conn.execute("SELECT conversation_id, answer, answer_origin FROM resolved_conversations"
                                 " WHERE tenant_id = %s ORDER BY conversation_id", (tenant.id,))
        rows = {r["conversation_id"]: (r["answer"], r["answer_origin"]) for r in await cur.fetchall()}
        assert rows == {edited.conversation_id: (EDITED, "edited"), ai_only.conversation_id: (DRAFT, "ai")}

        # A third customer asks the same: the agent sees the corrected answer first, the draft below it.
        hits = await past_conversations.search(conn, tenant.id, embed([QUESTION])[0], k=3)
    assert [h.id for h in hits] == [f"conversation:{edited.conversation_id}", f"conversation:{ai_only.conversation_id}"]
    assert EDITED in hits[0].snippet and DRAFT not in hits[0].snippet


async def test_the_origin_bonus_does_not_lift_an_unrelated_answer(
    pool: AsyncConnectionPool, tenant: Tenant, runner: AgentRunner
) -> None:
    """The bonus reorders near-equals only: an edited answer to another question stays below a close AI one."""
    near = await ingest(pool, f.email(tenant.id, "a@example.com", QUESTION))
    far = await ingest(pool, f.email(tenant.id, "b@example.com", "Can I change the language of the mobile app?"))
    ann = await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    async with pool.connection() as conn, conn.transaction():
        await conversations.transition(conn, tenant.id, near.conversation_id, ConversationStatus.AI_ACTIVE,
                                       actor="ai", reason="test")
        await send_reply(conn, tenant.id, near.conversation_id, Reply(ReplyKind.ANSWER, EDITED),
                         author_kind=AuthorKind.AI, answers_message_id=near.message_id)
        draft_id = await suggestions.record(conn, tenant.id, far.conversation_id, ann, "Maybe in settings.", ())
        sent = await send_reply(conn, tenant.id, far.conversation_id, Reply(ReplyKind.ANSWER, "Profile → Language."),
                                author_kind=AuthorKind.AGENT, author_id=ann, answers_message_id=far.message_id)
        await suggestions.decide(conn, tenant.id, draft_id, sent_text="Profile → Language.", sent_message_id=sent.id)
    for r in (near, far):
        await _resolve(pool, tenant, r.conversation_id)
        assert await runner.remember_resolved(tenant.id, r.conversation_id)
    async with pool.connection() as conn:
        hits = await past_conversations.search(conn, tenant.id, embed([QUESTION])[0], k=3, min_cosine=0.0)
    assert hits[0].id == f"conversation:{near.conversation_id}"
