"""clarify: one specific question, then wait — in the checkpoint — for the customer's next message.

The question is sent and the turn counted in one transaction; ``await_customer`` then interrupts
the graph. The interrupt lives in PostgreSQL, so the answer may arrive hours later, on another
channel, in another process: the next ``agent_run`` job for the conversation resumes right here and
re-runs classification on everything the customer has said so far.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from agent_graph.deps import GraphDeps
from agent_graph.outcomes import outcome, record_silent
from agent_graph.state import AgentState, Turn
from store import conversations, triage
from store.models import TALK_TO_HUMAN, ConversationStatus, Reply, ReplyKind
from store.outbox import AIMayNotReply
from store.translations import localized_actions, served_language, translate

TOPICS = {
    "billing": "a payment, refund or invoice",
    "technical": "the API, an integration or another technical setup",
    "account": "signing in, your password or your account settings",
    "product_question": "how a feature, plan or order works",
    "feature_request": "something you would like us to add",
    "bug_report": "something in the app that behaves wrongly",
}
FOLLOW_UPS = (
    "What exactly happens when you try — do you see an error message, and at which step?",
    "Which page, feature or order is this about, and what did you expect to happen instead?",
    "Could you describe in one or two sentences what you are trying to do, so I can find the right answer?",
)


def question_for(state: AgentState, language: str = "en") -> str:
    """A question that narrows the issue down: first between the two likeliest topics, then details."""
    asked = set(state.get("questions", []))
    top = [label for label, _ in state.get("classify_meta", {}).get("top", [])]
    if len(top) >= 2 and not asked:
        a, b = (translate(language, TOPICS[label]) if label in TOPICS else label.replace("_", " ") for label in top[:2])
        first = translate(language, "Happy to help! So I can point you to the right answer: is this about {a}, "
                                    "or about {b}?", a=a, b=b)
        if first not in asked:
            return first
    follow_ups = [translate(language, q) for q in FOLLOW_UPS]
    for q in follow_ups:
        if q not in asked:
            return q
    return follow_ups[-1]


async def clarify(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    language = served_language(state["classification"].get("language"))
    question = question_for(state, language)
    reply = Reply(ReplyKind.CLARIFY, question, actions=localized_actions(language, (TALK_TO_HUMAN,)), language=language)
    t, conv_id, mid = state["tenant_id"], state["conversation_id"], state["message_id"]
    turns = int(state.get("clarify_turns", 0)) + 1
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            sent_id = await triage.reply_for(conn, t, conv_id, mid, ReplyKind.CLARIFY)
            if sent_id is None:
                sent_id = (await deps.sink.send(conn, t, conv_id, reply, answers_message_id=mid)).id
            await triage.set_clarify_turns(conn, t, conv_id, turns)
            await conversations.transition(conn, t, conv_id, ConversationStatus.WAITING_CUSTOMER, actor="ai",
                                           reason=f"clarifying question {turns}")
            await triage.record_run(conn, t, conv_id, mid, decision="clarify", acted=True, reason=state.get("reason", ""),
                                    confidence=state.get("confidence"), reply_message_id=sent_id,
                                    backend=deps.backend.name)
    except AIMayNotReply as exc:
        return await record_silent(deps, state, "clarify", exc)
    return {
        "clarify_turns": turns,
        "questions": [*state.get("questions", []), question],
        "outcome": outcome(state, "clarify", acted=True, reason=state.get("reason", ""), reply=reply,
                           reply_message_id=sent_id),
    }


def after_clarify(state: AgentState) -> str:
    return "await_customer" if state.get("outcome", {}).get("acted") else "end"


async def await_customer(state: AgentState) -> dict[str, Any]:
    """Pauses the thread until the runner resumes it with the customer's next message(s)."""
    turn: Turn = interrupt({"question": (state.get("questions") or [""])[-1],
                            "clarify_turns": state.get("clarify_turns", 0)})
    return {
        "message_id": turn["message_id"],
        "last_seq": turn["seq"],
        "gathered": [*state.get("gathered", []), turn["text"]],
    }
