"""The agent graph: classify → safety → retrieve → decide → respond | suggest | clarify | handoff.

One LangGraph thread per conversation (``thread_id = "{tenant_id}:{conversation_id}"``) with its
checkpoints in PostgreSQL; ``clarify`` loops back through ``await_customer``, which interrupts the
thread until the customer's next message resumes it.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent_graph.deps import GraphDeps
from agent_graph.nodes.clarify import after_clarify, await_customer, clarify
from agent_graph.nodes.classify import classify
from agent_graph.nodes.decide import decide, route
from agent_graph.nodes.handoff import handoff
from agent_graph.nodes.respond import after_respond, respond, suggest
from agent_graph.nodes.retrieve import retrieve
from agent_graph.nodes.safety import safety
from agent_graph.state import AgentState


def thread_id(tenant_id: int, conversation_id: int) -> str:
    return f"{tenant_id}:{conversation_id}"


def disable_tracing() -> None:
    """LangChain would send traces to LangSmith if the environment asked it to; customer text stays here."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING"):
        os.environ[name] = "false"


def build(deps: GraphDeps) -> StateGraph[AgentState, Any, AgentState, AgentState]:
    g: StateGraph[AgentState, Any, AgentState, AgentState] = StateGraph(AgentState)

    def bound(fn: Any) -> Any:
        return functools.partial(fn, deps=deps)

    g.add_node("classify", bound(classify))
    g.add_node("safety", bound(safety))
    g.add_node("retrieve", bound(retrieve))
    g.add_node("decide", bound(decide))
    g.add_node("respond", bound(respond))
    g.add_node("suggest", bound(suggest))
    g.add_node("clarify", bound(clarify))
    g.add_node("await_customer", await_customer)
    g.add_node("handoff", bound(handoff))

    g.add_edge(START, "classify")
    g.add_edge("classify", "safety")
    g.add_edge("safety", "retrieve")
    g.add_edge("retrieve", "decide")
    g.add_conditional_edges("decide", route, {"answer": "respond", "suggest": "suggest", "clarify": "clarify",
                                              "handoff": "handoff"})
    g.add_conditional_edges("respond", after_respond, {"handoff": "handoff", "end": END})
    g.add_conditional_edges("clarify", after_clarify, {"await_customer": "await_customer", "end": END})
    g.add_edge("await_customer", "classify")
    g.add_edge("suggest", END)
    g.add_edge("handoff", END)
    return g


def compile_graph(deps: GraphDeps, checkpointer: BaseCheckpointSaver[Any]) -> CompiledStateGraph[Any, Any, Any, Any]:
    return build(deps).compile(checkpointer=checkpointer, name="switchboard-agent")
