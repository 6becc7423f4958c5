"""respond: an automatic answer (auto-resolve) or a draft for an agent (suggest).

Answers are composed from KB passages only — never from past conversations, which may hold another
customer's data — and go out through the ReplySink, whose transaction refuses if a human owns the
conversation. An answer leaves the conversation waiting for the customer's confirmation, with
"This solved it" / "Talk to a person" buttons.
"""

from __future__ import annotations

from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.extractive import Passage
from agent_graph.outcomes import outcome, record_silent
from agent_graph.state import AgentState, classification_from, episode_text, source_from
from store import conversations, triage
from store.conversations import AI_MAY_REPLY
from store.models import SOLVED, TALK_TO_HUMAN, AuthorKind, ConversationStatus, Direction, Reply, ReplyKind
from store.outbox import AIMayNotReply
from store.translations import localized_actions


def passages(state: AgentState) -> list[Passage]:
    return [Passage(source=source_from(h["source"]), heading=h["heading"], text=h["text"], cosine=float(h["cosine"]),
                    article_id=int(h["article_id"]), language=h.get("language", "en"))
            for h in state.get("hits", [])]


async def respond(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    c = classification_from(state["classification"])
    found = passages(state)
    answer = await deps.backend.compose(episode_text(state), found, language=c.language)
    if not answer.grounded or not answer.text.strip():
        why = "; ".join(answer.notes) or "no passage could be quoted"
        return {"decision": "handoff", "reason": f"could not compose a grounded answer ({why})"}
    language = found[0].language if deps.backend.name == "offline" and found else c.language
    reply = Reply(ReplyKind.ANSWER, answer.text, sources=answer.sources,
                  actions=localized_actions(language, (SOLVED, TALK_TO_HUMAN)), language=language)
    t, conv_id, mid = state["tenant_id"], state["conversation_id"], state["message_id"]
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            sent_id = await triage.reply_for(conn, t, conv_id, mid, ReplyKind.ANSWER)
            if sent_id is None:
                sent_id = (await deps.sink.send(conn, t, conv_id, reply, answers_message_id=mid)).id
            await conversations.transition(conn, t, conv_id, ConversationStatus.WAITING_CUSTOMER, actor="ai",
                                           reason="answered; resolved pending the customer's confirmation")
            await triage.set_clarify_turns(conn, t, conv_id, 0)
            await triage.record_run(conn, t, conv_id, mid, decision="answer", acted=True, reason=state.get("reason", ""),
                                    confidence=state.get("confidence"), reply_message_id=sent_id,
                                    backend=answer.backend)
    except AIMayNotReply as exc:
        return await record_silent(deps, state, "answer", exc)
    return {"clarify_turns": 0,
            "outcome": outcome(state, "answer", acted=True, reason=state.get("reason", ""), reply=reply,
                               reply_message_id=sent_id)}


async def suggest(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    """Stores a draft for agents and queues the conversation for them; the customer sees nothing."""
    c = classification_from(state["classification"])
    draft = await deps.backend.compose(episode_text(state), passages(state), language=c.language)
    if not draft.grounded and deps.backend.name != "offline":
        from agent_graph.backends.offline import OfflineBackend

        draft = await OfflineBackend().compose(episode_text(state), passages(state), language=c.language)
    past = tuple(source_from(s) for s in state.get("past", []))
    reply = Reply(ReplyKind.SUGGESTION, draft.text or "(no draft: no passage matched)", sources=draft.sources + past,
                  language=c.language)
    t, conv_id, mid = state["tenant_id"], state["conversation_id"], state["message_id"]
    assigned = None
    async with deps.pool.connection() as conn, conn.transaction():
        conv = await conversations.get(conn, t, conv_id, lock=True)
        msg = await conversations.append_message(
            conn, t, conv_id, direction=Direction.INTERNAL, author_kind=AuthorKind.AI, channel=conv.last_channel,
            text=reply.text, reply_kind=ReplyKind.SUGGESTION, sources=reply.sources,
            raw={"answers_message_id": mid, "confidence": state.get("confidence"), "reason": state.get("reason")},
        )
        if conv.status in AI_MAY_REPLY and conv.assignee_id is None:
            await conversations.transition(conn, t, conv_id, ConversationStatus.PENDING_AGENT, actor="ai",
                                           reason=f"draft for an agent: {state.get('reason', '')}")
            assigned = await deps.router.choose_agent(conn, t, conv_id, c.skills)
            if assigned is not None:
                await conversations.assign(conn, t, conv_id, assigned, actor="ai:router")
        await triage.record_run(conn, t, conv_id, mid, decision="suggest", acted=True, reason=state.get("reason", ""),
                                confidence=state.get("confidence"), reply_message_id=msg.id, backend=draft.backend)
    return {"outcome": outcome(state, "suggest", acted=True, reason=state.get("reason", ""), reply=reply,
                               reply_message_id=msg.id, assigned_agent_id=assigned)}


def after_respond(state: AgentState) -> str:
    """A failed composition hands off rather than leaving the customer with silence."""
    return "handoff" if state.get("decision") == "handoff" else "end"
