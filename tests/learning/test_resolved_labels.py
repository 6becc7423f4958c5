"""Resolved conversations as a label source for retraining: only the ones an agent owned.

``store.classifiers.feedback_examples`` documents the rule: a resolved conversation labels its opening
question with the category it ended with, but only if an agent owned it (an AI-only resolution would
teach the model its own guesses). Both conversations below go the real way: ingest, the classifier's
label on the message, status transitions, replies, resolution and the worker's
``AgentRunner.remember_resolved``; then ``retrain.gather`` is asked for the training pairs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from agent_graph import retrain as rt
from agent_graph.runner import AgentRunner
from gateway.ingest import ingest
from gateway.replies import AIReplySink, send_reply
from gateway.routing import SkillRouter
from store import classifiers, conversations, triage
from store.models import AuthorKind, Classification, ConversationStatus, Reply, ReplyKind
from store.tenants import DEFAULT_CATEGORIES, Tenant
from tests import factories as f
from tests.copilot.console_client import make_agent

BASE = "http://switchboard.test"
# Neither text is in the held-back slice (asserted below), so a label for it must land in ``train``.
AGENT_OWNED = "My invoice still charges me for the plan I cancelled last month"
AI_ONLY = "Where can I change the email address on my profile?"


@pytest.fixture
async def runner(pool: AsyncConnectionPool) -> AsyncIterator[AgentRunner]:
    r = AgentRunner(pool, reply_sink=AIReplySink(BASE), router=SkillRouter(BASE))
    yield r
    await r.close()


async def _classified(pool: AsyncConnectionPool, tenant: Tenant, who: str, text: str, category: str) -> tuple[int, int]:
    got = await ingest(pool, f.email(tenant.id, who, text))
    async with pool.connection() as conn, conn.transaction():
        await triage.record_classification(conn, tenant.id, got.conversation_id, got.message_id,
                                           Classification(category, 0.9, "normal", 0.5, "neutral", 0.5),
                                           backend="test", model_version=None)
        await conversations.transition(conn, tenant.id, got.conversation_id, ConversationStatus.AI_ACTIVE,
                                       actor="ai", reason="test")
    return got.conversation_id, got.message_id


async def test_an_agent_owned_resolution_labels_training_data_and_an_ai_only_one_does_not(
    pool: AsyncConnectionPool, tenant: Tenant, runner: AgentRunner,
) -> None:
    config = rt.RetrainConfig()
    for text in (AGENT_OWNED, AI_ONLY):
        assert not rt.in_holdout(text, seed=config.seed, fraction=config.holdout_fraction)
    ann = await make_agent(pool, tenant, f"ann@{tenant.slug}.test")

    owned, owned_msg = await _classified(pool, tenant, "owned@example.com", AGENT_OWNED, "billing")
    async with pool.connection() as conn, conn.transaction():
        await conversations.transition(conn, tenant.id, owned, ConversationStatus.PENDING_AGENT, actor="ai",
                                       reason="handoff")
        await conversations.assign(conn, tenant.id, owned, ann, actor="test")
        await send_reply(conn, tenant.id, owned, Reply(ReplyKind.ANSWER, "I have refunded the cancelled plan."),
                         author_kind=AuthorKind.AGENT, author_id=ann, answers_message_id=owned_msg)
    alone, alone_msg = await _classified(pool, tenant, "alone@example.com", AI_ONLY, "account")
    async with pool.connection() as conn, conn.transaction():
        await send_reply(conn, tenant.id, alone, Reply(ReplyKind.ANSWER, "Open Profile → Email and save."),
                         author_kind=AuthorKind.AI, answers_message_id=alone_msg)
    for cid in (owned, alone):
        async with pool.connection() as conn, conn.transaction():
            await conversations.transition(conn, tenant.id, cid, ConversationStatus.RESOLVED, actor="test",
                                           reason="solved")
        assert await runner.remember_resolved(tenant.id, cid)  # both are remembered for retrieval ...

    async with pool.connection() as conn:
        found = await classifiers.feedback_examples(conn, tenant.id)
        new_labels = await classifiers.feedback_labels_since(conn, tenant.id, None)
    assert [(e.text, e.category, e.source) for e in found] == [(AGENT_OWNED, "billing", "resolved")]
    assert new_labels == 1  # ... and the schedule's "enough new labels" count follows the same rule

    labels = await rt.gather(pool, tenant.id, DEFAULT_CATEGORIES, config)
    assert (AGENT_OWNED, "billing") in labels.train
    assert not any(text == AI_ONLY for text, _ in labels.train + labels.holdout)
    assert labels.sources.get("resolved") == 1 and "override" not in labels.sources


async def test_a_correction_outranks_the_resolved_category_of_the_same_question(
    pool: AsyncConnectionPool, tenant: Tenant, runner: AgentRunner,
) -> None:
    """One label per text: the agent's explicit correction, not the category the conversation ended with."""
    ann = await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    cid, msg = await _classified(pool, tenant, "owned@example.com", AGENT_OWNED, "billing")
    async with pool.connection() as conn, conn.transaction():
        await conversations.transition(conn, tenant.id, cid, ConversationStatus.PENDING_AGENT, actor="ai",
                                       reason="handoff")
        await conversations.assign(conn, tenant.id, cid, ann, actor="test")
        await triage.override(conn, tenant.id, msg, field="category", new_value="account", agent_id=ann)
        await send_reply(conn, tenant.id, cid, Reply(ReplyKind.ANSWER, "I have refunded the cancelled plan."),
                         author_kind=AuthorKind.AGENT, author_id=ann, answers_message_id=msg)
        # Then someone re-files the conversation (not the message): its resolved category disagrees.
        await conn.execute("UPDATE conversations SET category = 'billing' WHERE tenant_id = %s AND id = %s",
                           (tenant.id, cid))
        await conversations.transition(conn, tenant.id, cid, ConversationStatus.RESOLVED, actor="test", reason="solved")
    assert await runner.remember_resolved(tenant.id, cid)

    labels = await rt.gather(pool, tenant.id, DEFAULT_CATEGORIES)
    mine = [(text, category) for text, category in labels.train + labels.holdout if text == AGENT_OWNED]
    assert mine == [(AGENT_OWNED, "account")]
    assert labels.sources.get("override") == 1 and "resolved" not in labels.sources
