"""The offline backend: no keys, no network, no invented facts.

Categories come from the tenant's few-shot classifier, urgency and sentiment from shared prototype
heads plus cue words, the language from lingua; answers are extractive (``agent_graph.extractive``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from agent_graph import language as lang
from agent_graph.backends import ClassifyInput, ClassifyResult, ComposedAnswer, StreamPiece
from agent_graph.extractive import Passage, compose, parts
from agent_graph.urgency_sentiment import complexity, shared_tone_model
from store.models import Classification


class OfflineBackend:
    name = "offline"

    def __init__(self) -> None:
        self.tone = shared_tone_model()

    async def classify(self, request: ClassifyInput) -> ClassifyResult:
        model = request.category_model
        prediction = model.classifier.predict_embeddings(request.vector[None, :])[0]
        tone = await self.tone.predict(request.text, request.vector, urgency_head=request.urgency_head)
        detected = await asyncio.to_thread(lang.detect, request.text, request.default_language)
        top = [(label, round(p, 4)) for label, p in prediction.top]
        level, level_conf = complexity(request.text, top)
        classification = Classification(
            category=prediction.label, category_confidence=round(prediction.confidence, 4),
            urgency=tone.urgency, urgency_confidence=tone.urgency_confidence,
            sentiment=tone.sentiment, sentiment_confidence=tone.sentiment_confidence,
            complexity=level, complexity_confidence=level_conf,
            skills=tuple(request.category_skills.get(prediction.label, ())),
            language=detected.code, language_confidence=detected.confidence,
        )
        return ClassifyResult(classification, tuple(top), prediction.out_of_scope, self.name, model.version)

    async def compose(self, question: str, passages: Sequence[Passage], *, language: str) -> ComposedAnswer:
        text, sources = compose(passages, language)
        return ComposedAnswer(text, sources, self.name, grounded=bool(sources))

    async def stream(self, question: str, passages: Sequence[Passage], *, language: str) -> AsyncIterator[StreamPiece]:
        for text, source in parts(passages, language):
            yield StreamPiece(text, source)

    async def close(self) -> None:
        return None
