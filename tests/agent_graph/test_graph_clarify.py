"""The clarify loop: one question per turn, resumed from the PostgreSQL checkpoint, at most three turns."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from agent_graph.graph import thread_id
from agent_graph.nodes.decide import Decision
from agent_graph.runner import AgentRunner
from gateway.replies import AIReplySink
from store import conversations, handoffs
from store.models import ConversationStatus, ReplyKind
from store.tenants import Tenant
from tests.agent_graph.conftest import SkillRouter, ai_outbox, say, status_of


async def test_vague_message_gets_one_question_then_the_answer(
    pool: AsyncConnectionPool, kb_tenant: Tenant, runner: AgentRunner
) -> None:
    r = await say(pool, kb_tenant, "it's not working")
    out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
    assert out.decision is Decision.CLARIFY and out.reply is not None
    assert out.reply.kind is ReplyKind.CLARIFY and out.reply.text.count("?") == 1
    conv = await status_of(pool, kb_tenant.id, r.conversation_id)
    assert conv.status is ConversationStatus.WAITING_CUSTOMER and conv.clarify_turns == 1

    # The answer may come from another channel: same customer, same conversation, next job.
    r2 = await say(pool, kb_tenant, "I forgot my password and the reset email never arrives")
    assert r2.conversation_id == r.conversation_id
    out2 = await runner.run(kb_tenant.id, r2.conversation_id, r2.message_id)
    assert out2.decision is Decision.ANSWER, out2.reason
    assert out2.reply is not None and out2.sources and "Reset your password" in out2.sources[0].title
    rows = await ai_outbox(pool, kb_tenant.id, r.conversation_id)
    assert [row["reply_kind"] for row in rows] == ["clarify", "answer"]
    assert rows[1]["payload"]["answers_message_id"] == r2.message_id
    conv = await status_of(pool, kb_tenant.id, r.conversation_id)
    assert conv.status is ConversationStatus.WAITING_CUSTOMER and conv.clarify_turns == 0


async def test_three_unanswered_clarifications_hand_off_with_everything_gathered(
    pool: AsyncConnectionPool, kb_tenant: Tenant, runner: AgentRunner
) -> None:
    texts = ["it's not working", "something is wrong", "help", "I have an issue"]
    decisions = []
    for text in texts:
        r = await say(pool, kb_tenant, text, who="vague@example.com")
        out = await runner.run(kb_tenant.id, r.conversation_id, r.message_id)
        decisions.append(out.decision)
    assert decisions == [Decision.CLARIFY] * 3 + [Decision.HANDOFF]
    assert "3 clarifying questions" in out.reason
    rows = await ai_outbox(pool, kb_tenant.id, r.conversation_id)
    assert [row["reply_kind"] for row in rows] == ["clarify", "clarify", "clarify", "handoff"]
    assert len({row["text"] for row in rows[:3]}) == 3  # never the same question twice
    async with pool.connection() as conn:
        summary = await handoffs.latest(conn, kb_tenant.id, r.conversation_id)
        conv = await conversations.get(conn, kb_tenant.id, r.conversation_id)
    assert summary is not None
    assert all(t in summary.reported for t in texts)
    assert sum(t.startswith("Asked:") for t in summary.tried) == 3
    assert conv.status is ConversationStatus.PENDING_AGENT and conv.clarify_turns == 3


async def test_a_restarted_process_resumes_mid_clarify_from_the_checkpoint(
    pool: AsyncConnectionPool, kb_tenant: Tenant
) -> None:
    first = AgentRunner(pool, reply_sink=AIReplySink("http://switchboard.test"), router=SkillRouter())
    await first.start()
    r = await say(pool, kb_tenant, "I have a problem")
    out = await first.run(kb_tenant.id, r.conversation_id, r.message_id)
    assert out.decision is Decision.CLARIFY
    question = out.reply.text if out.reply else ""
    await first.close()  # the worker dies; only PostgreSQL remembers

    second = AgentRunner(pool, reply_sink=AIReplySink("http://switchboard.test"), router=SkillRouter())
    await second.start()
    try:
        config = {"configurable": {"thread_id": thread_id(kb_tenant.id, r.conversation_id)}}
        snapshot = await second.graph.aget_state(config)
        assert snapshot.next == ("await_customer",) and snapshot.interrupts
        assert snapshot.values["questions"] == [question]

        r2 = await say(pool, kb_tenant, "how do I download the invoice for last month", channel="email")
        out2 = await second.run(kb_tenant.id, r2.conversation_id, r2.message_id)
        assert out2.decision is Decision.ANSWER, out2.reason
        snapshot = await second.graph.aget_state(config)
        assert snapshot.values["gathered"] == [
            "I have a problem",
            "how do I download the invoice for last month",
        ]
        assert snapshot.values["questions"] == [question] and not snapshot.interrupts
    finally:
        await second.close()
