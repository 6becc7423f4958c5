"""handoff: a person takes over, with a summary so they never have to ask the customer again.

The customer is told a person will reply (a Reply of kind HANDOFF — the kind says it, not a marker
in the text), the conversation moves to pending_agent through the state machine, and the gateway's
Router may assign someone with the needed skills. Notice, transition, assignment and summary commit
together; if a human already owns the conversation the ReplySink refuses and nothing changes.
"""

from __future__ import annotations

from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.outcomes import outcome, record_silent
from agent_graph.state import AgentState, classification_from, episode_text, source_from
from store import conversations, handoffs, translations, triage
from store.models import AuthorKind, ConversationStatus, Direction, Reply, ReplyKind, Source
from store.outbox import AIMayNotReply

NOTICE = "Thanks for your patience. A person from our team will reply here as soon as possible."


def summary_parts(state: AgentState, earlier_ai_replies: list[str]) -> dict[str, Any]:
    c = classification_from(state["classification"])
    reported = episode_text(state)
    tried = [f"Asked: {q}" for q in state.get("questions", [])]
    tried += [f"Earlier AI reply: {text}" for text in earlier_ai_replies]
    hits = state.get("hits", [])
    kb_sources = [source_from(h["source"]) for h in hits[:3]]
    past = [source_from(s) for s in state.get("past", [])]
    if hits:
        tried.append(f"Closest help article: {hits[0]['source']['title']} (similarity {hits[0]['cosine']:.2f})")
    rules = [f["rule"] for f in state.get("safety", {}).get("critical", []) + state.get("safety", {}).get("handoff", [])]
    cause = (f"{c.category.replace('_', ' ')} (confidence {c.category_confidence:.0%}), urgency {c.urgency}, "
             f"sentiment {c.sentiment}, language {c.language}. Handed off because: {state.get('reason', '')}.")
    if rules:
        cause += f" Rules fired: {', '.join(rules)}."
    lines = [f"Reported: {reported}", "", "Tried:"] + [f"- {t}" for t in tried or ["nothing yet"]]
    lines += ["", f"Likely cause: {cause}"]
    if kb_sources or past:
        lines += ["", "Sources:"] + [f"- [{s.id}] {s.title}" for s in [*kb_sources, *past]]
    return {"reported": reported, "tried": tried, "likely_cause": cause, "sources": kb_sources + past,
            "summary": "\n".join(lines)}


async def handoff(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    c = classification_from(state["classification"])
    served = translations.served_language(c.language)
    reply = Reply(ReplyKind.HANDOFF, translations.translate(served, NOTICE), language=served)
    t, conv_id, mid = state["tenant_id"], state["conversation_id"], state["message_id"]
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            sent_id = await triage.reply_for(conn, t, conv_id, mid, ReplyKind.HANDOFF)
            if sent_id is None:
                sent_id = (await deps.sink.send(conn, t, conv_id, reply, answers_message_id=mid)).id
            conv = await conversations.transition(conn, t, conv_id, ConversationStatus.PENDING_AGENT, actor="ai",
                                                  reason=f"handoff: {state.get('reason', '')}")
            assigned = await deps.router.choose_agent(conn, t, conv_id, c.skills)
            if assigned is not None:
                conv = await conversations.assign(conn, t, conv_id, assigned, actor="ai:router")
            earlier = [m.text for m in await conversations.messages(conn, t, conv_id)
                       if m.author_kind is AuthorKind.AI and m.reply_kind is ReplyKind.ANSWER]
            parts = summary_parts(state, earlier)
            await handoffs.save(conn, t, conv_id, message_id=mid, reason=state.get("reason", ""),
                                reported=parts["reported"], tried=parts["tried"], likely_cause=parts["likely_cause"],
                                sources=parts["sources"], classification=dict(state["classification"]),
                                assigned_agent_id=assigned, summary=parts["summary"])
            await conversations.append_message(
                conn, t, conv_id, direction=Direction.INTERNAL, author_kind=AuthorKind.SYSTEM,
                channel=conv.last_channel, text=parts["summary"], sources=parts["sources"],
                raw={"handoff_summary": True, "answers_message_id": mid},
            )
            await triage.record_run(conn, t, conv_id, mid, decision="handoff", acted=True, reason=state.get("reason", ""),
                                    confidence=state.get("confidence"), reply_message_id=sent_id,
                                    backend=deps.backend.name)
    except AIMayNotReply as exc:
        return await record_silent(deps, state, "handoff", exc)
    extra: tuple[Source, ...] = tuple(parts["sources"])
    return {"outcome": outcome(state, "handoff", acted=True, reason=state.get("reason", ""), reply=reply,
                               reply_message_id=sent_id, assigned_agent_id=assigned, extra_sources=extra)}

