"""Model backends: the offline default and an OpenAI-compatible LLM, behind one interface.

The graph asks a backend for three things only: classify a message, compose a grounded answer from
passages, and stream such an answer piece by piece (for the copilot). Everything else — retrieval,
policy, state, sending — is the same for both, so switching backends changes wording, not behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from agent_graph.classifier import IntentClassifier
from agent_graph.extractive import Passage
from agent_graph.tenant_models import CategoryModel
from store.models import Classification, Source


@dataclass(frozen=True)
class ClassifyInput:
    text: str
    vector: np.ndarray  # the offline embedding of ``text``; computed once, reused by retrieval
    categories: tuple[str, ...]
    category_skills: Mapping[str, tuple[str, ...]]
    category_model: CategoryModel
    default_language: str = "en"
    # The tenant's promoted urgency head (trained on its agents' corrections); None → the shared head.
    urgency_head: IntentClassifier | None = None


@dataclass(frozen=True)
class ClassifyResult:
    classification: Classification
    top_categories: tuple[tuple[str, float], ...]
    out_of_scope: bool
    backend: str
    model_version: int | None
    notes: tuple[str, ...] = ()  # e.g. why the LLM answer was not used

    @property
    def margin(self) -> float:
        """Gap between the two likeliest categories: small means the message could be either."""
        if len(self.top_categories) < 2:
            return 1.0
        return self.top_categories[0][1] - self.top_categories[1][1]


@dataclass(frozen=True)
class ComposedAnswer:
    text: str
    sources: tuple[Source, ...]
    backend: str
    grounded: bool = True  # False: the backend could not answer from the passages (hand off)
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StreamPiece:
    """A piece of a streamed draft: a token run (LLM) or a whole passage (offline), with its source."""

    text: str
    source: Source | None = None


class ModelBackend(Protocol):
    name: str

    async def classify(self, request: ClassifyInput) -> ClassifyResult: ...

    async def compose(self, question: str, passages: Sequence[Passage], *, language: str) -> ComposedAnswer: ...

    def stream(self, question: str, passages: Sequence[Passage], *, language: str) -> AsyncIterator[StreamPiece]: ...

    async def close(self) -> None: ...


DEFAULT_CATEGORY_SKILLS: dict[str, tuple[str, ...]] = {
    "billing": ("billing",),
    "technical": ("technical",),
    "account": ("account",),
    "product_question": (),
    "feature_request": (),
    "bug_report": ("technical",),
}


def from_settings(base_url: str | None, api_key: str | None = None, model: str = "gpt-4o-mini",
                  timeout: float = 20.0) -> ModelBackend:
    """LLM mode when a base URL is configured, else offline. The gateway calls this with its settings."""
    from agent_graph.backends.offline import OfflineBackend

    if not base_url:
        return OfflineBackend()
    from agent_graph.backends.llm import LLMBackend

    return LLMBackend(base_url=base_url, api_key=api_key, model=model, timeout=timeout)


__all__ = ["DEFAULT_CATEGORY_SKILLS", "ClassifyInput", "ClassifyResult", "ComposedAnswer", "ModelBackend",
           "Passage", "StreamPiece", "from_settings"]
