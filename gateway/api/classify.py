"""Classify as a service: the agent graph's own classify and retrieve nodes, run without a conversation.

Reusing the nodes (not re-implementing them) is what makes the labels the graph's labels: the same
tenant classifier, backend, thresholds and hybrid KB search, on the same text. A subject, when sent,
is the first line of that text, as a clarified episode's earlier turns are in the graph. The safety
rules that raise urgency to critical apply too, as they do between the graph's classify and retrieve.
"""

from __future__ import annotations

from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.nodes.classify import classify as classify_node
from agent_graph.nodes.retrieve import retrieve as retrieve_node
from agent_graph.nodes.safety import fired_rules, tenant_rules
from agent_graph.state import AgentState, episode_text
from gateway.api.models import ClassifyItem, ClassifyResult, Label, SourceOut

NO_CONVERSATION = 0  # retrieve excludes "this" conversation from past cases; there is none


class ClassifyService:
    def __init__(self, deps: GraphDeps) -> None:
        self.deps = deps

    async def classify(self, tenant_id: int, item: ClassifyItem) -> ClassifyResult:
        gathered = [t for t in (item.subject, item.body) if t and t.strip()]
        state: AgentState = {"tenant_id": tenant_id, "conversation_id": NO_CONVERSATION, "gathered": gathered}
        labels = await classify_node(state, self.deps)
        await self._apply_safety_rules(tenant_id, state, labels)
        found = await retrieve_node(state, self.deps)
        return result_from(labels, found)

    async def _apply_safety_rules(self, tenant_id: int, state: AgentState, labels: dict[str, Any]) -> None:
        """The graph's safety node overrides urgency to critical when a rule fires; so does this.

        The node itself also records triage rows for a message, which a classify call has not got,
        so its two pure steps (the tenant's rules, which of them fire) are reused instead.
        """
        tenant = await self.deps.tenant(tenant_id)
        rules = tenant_rules(tenant.setting("safety_rules"), bool(tenant.setting("safety_defaults") is not False))
        if any(f["action"] == "critical" for f in fired_rules(episode_text(state), rules)):
            labels["classification"] = {**labels["classification"], "urgency": "critical", "urgency_confidence": 1.0}


def result_from(labels: dict[str, Any], found: dict[str, Any]) -> ClassifyResult:
    c = labels["classification"]
    top = labels["classify_meta"]["top"]
    return ClassifyResult(
        category=Label(label=c["category"], confidence=round(c["category_confidence"], 4)),
        urgency=Label(label=c["urgency"], confidence=round(c["urgency_confidence"], 4)),
        sentiment=Label(label=c["sentiment"], confidence=round(c["sentiment_confidence"], 4)),
        complexity=Label(label=c["complexity"], confidence=round(c["complexity_confidence"], 4)),
        language=Label(label=c["language"], confidence=round(c["language_confidence"], 4)),
        skills=list(c["skills"]),
        top_categories=[Label(label=str(name), confidence=round(float(score), 4)) for name, score in top],
        sources=[SourceOut(**{k: h["source"][k] for k in ("id", "title", "snippet", "score", "url")})
                 for h in found["hits"]],
    )
