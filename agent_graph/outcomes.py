"""How a node reports what it did: one dict in the checkpointed state, one ``agent_runs`` row."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.state import AgentState
from store import triage
from store.models import Reply, Source


def reply_dict(reply: Reply) -> dict[str, Any]:
    return {"kind": reply.kind.value, "text": reply.text, "sources": [asdict(s) for s in reply.sources],
            "actions": [asdict(a) for a in reply.actions], "language": reply.language}


def outcome(state: AgentState, decision: str, *, acted: bool, reason: str, reply: Reply | None = None,
            reply_message_id: int | None = None, assigned_agent_id: int | None = None,
            extra_sources: tuple[Source, ...] = ()) -> dict[str, Any]:
    return {
        "decision": decision, "acted": acted, "reason": reason,
        "reply": reply_dict(reply) if reply else None, "reply_message_id": reply_message_id,
        "assigned_agent_id": assigned_agent_id, "confidence": state.get("confidence"),
        "extra_sources": [asdict(s) for s in extra_sources],
    }


async def record_silent(deps: GraphDeps, state: AgentState, intended: str, error: Exception) -> dict[str, Any]:
    """A human owns the conversation: nothing was sent; the run is recorded and not retried."""
    reason = f"stayed silent instead of {intended}: {error}"
    async with deps.pool.connection() as conn, conn.transaction():
        await triage.record_run(conn, state["tenant_id"], state["conversation_id"], state.get("message_id"),
                                decision="silent", acted=False, reason=reason, confidence=state.get("confidence"),
                                reply_message_id=None, backend=deps.backend.name)
    return {"outcome": outcome(state, "silent", acted=False, reason=reason)}
