"""retrieve: the tenant's KB passages (for answers) and similar resolved conversations (for agents)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.injection import strip_instruction_lines
from agent_graph.nodes.decide import is_vague
from agent_graph.state import AgentState, episode_text
from store import kb, past_conversations

KB_RESULTS = 5
PAST_RESULTS = 3


def query_text(state: AgentState) -> str:
    """What the customer asked, minus lines that say nothing ("it's not working") or address the AI.

    Both only dilute the query; an instruction aimed at the model is data, and as a search query it
    would only pull up whatever KB text resembles it.
    """
    cleaned = [strip_instruction_lines(t) for t in state.get("gathered", [])]
    useful = [t for t in cleaned if t and not is_vague(t)]
    return "\n".join(useful) if useful else episode_text(state)


async def retrieve(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    text = query_text(state)
    vector = await deps.vector(text)
    async with deps.pool.connection() as conn:
        hits = await kb.search(conn, state["tenant_id"], text, vector, k=KB_RESULTS)
        kb_languages = sorted(await kb.languages(conn, state["tenant_id"]))
        past = await past_conversations.search(conn, state["tenant_id"], vector, k=PAST_RESULTS,
                                               exclude_conversation_id=state["conversation_id"])
    return {
        "hits": [{"source": asdict(h.source), "heading": h.heading, "text": h.text, "cosine": h.cosine,
                  "article_id": h.article_id, "language": h.language} for h in hits],
        "past": [asdict(s) for s in past],
        "kb_languages": kb_languages,
        "retrieval_score": round(max((h.cosine for h in hits), default=0.0), 4),
    }
