"""The graph's state, as checkpointed in PostgreSQL between a clarifying question and its answer.

Only plain JSON-like values live here (no dataclasses): a checkpoint written by one release must
load in the next, and a process restarted mid-clarify rebuilds everything else from the store.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypedDict

from store.models import Classification, Source


class Turn(TypedDict):
    """Customer messages one run consumes: the job's message and any that arrived with it."""

    message_id: int
    seq: int
    text: str


class AgentState(TypedDict, total=False):
    tenant_id: int
    conversation_id: int
    message_id: int  # the newest customer message of this run: replies answer it
    last_seq: int  # newest customer message consumed by the thread
    gathered: list[str]  # what the customer said in this episode (first message + clarification answers)
    questions: list[str]  # clarifying questions asked in this episode
    clarify_turns: int  # mirrors conversations.clarify_turns
    after_answer: bool  # the AI's previous reply in this conversation was an answer
    classification: dict[str, Any]
    classify_meta: dict[str, Any]  # top categories, margin, out-of-scope, backend, model version, notes
    safety: dict[str, Any]  # fired rules: {"critical": [...], "handoff": [...]}
    hits: list[dict[str, Any]]  # KB passages (source + quoted text + cosine)
    past: list[dict[str, Any]]  # similar resolved conversations: agents only, never customer-visible
    retrieval_score: float
    kb_languages: list[str]  # languages the tenant's KB has articles in (decide answers only in these)
    decision: str
    reason: str
    confidence: float
    outcome: dict[str, Any]


def classification_from(data: dict[str, Any]) -> Classification:
    values = dict(data)
    values["skills"] = tuple(values.get("skills", ()))
    return Classification(**values)


def classification_dict(c: Classification) -> dict[str, Any]:
    data = asdict(c)
    data["skills"] = list(c.skills)
    return data


def source_from(data: dict[str, Any]) -> Source:
    return Source(**data)


def episode_text(state: AgentState) -> str:
    return "\n".join(state.get("gathered", []))
