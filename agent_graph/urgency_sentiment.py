"""Urgency and sentiment from a message's embedding plus a few unmistakable words.

These scales start the same for every tenant, so one small head per process is trained from
``data/tone_examples.jsonl`` on the embedding the message already has (no second model call).
Keywords catch what ten examples cannot ("ASAP", "unacceptable"); prototypes catch paraphrases.
Critical urgency is not predicted here: only tenant safety rules raise it (``nodes.safety``), so it
stays explainable.

Urgency is not quite universal, though: "the payroll run is tomorrow" is routine for one tenant and
high for another, and agents say so by correcting it. ``agent_graph.retrain`` trains a tenant head
from the shared examples plus those corrections and promotes it only if it is not worse on held-back
corrections; :class:`TenantUrgencyHeads` serves the promoted head, and ``predict(urgency_head=...)``
uses it in place of the shared one. Cue words apply on top of either head, in serving and in the
promotion gate alike (:func:`urgency_label`), so the gate judges what the tenant would actually see.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed_many_async
from store import classifiers

URGENCY_CUES = {
    "high": re.compile(r"\b(urgent(ly)?|asap|immediately|right now|emergency|blocking|deadline|dringend|urgente?|"
                       r"sofort|tout de suite|lo antes posible)\b", re.I),
    "low": re.compile(r"\b(no rush|whenever|not urgent|just wondering|out of curiosity|when you get a chance|someday)\b",
                      re.I),
}
SENTIMENT_CUES = {
    "frustrated": re.compile(
        r"(\b(ridiculous|unacceptable|fed up|furious|angry|worst|useless|terrible|awful|sick of|scam|wtf|"
        r"pathetic|disgusting|incompetent|third time|still broken|nobody (answers|helps|replies))\b|!!!|\?\?\?)", re.I),
    "positive": re.compile(r"\b(thank(s| you)|great|awesome|love|amazing|appreciated?|brilliant|fantastic|cheers)\b",
                           re.I),
}
CUE_FLOOR = 0.85  # a cue word makes its label at least this likely


@dataclass(frozen=True, slots=True)
class Tone:
    urgency: str
    urgency_confidence: float
    sentiment: str
    sentiment_confidence: float


def shared_examples(kind: str) -> tuple[list[str], list[str]]:
    """(texts, labels) the shared ``kind`` head learns from; a tenant's urgency head starts from them too."""
    texts, labels = _examples()[kind]
    return list(texts), list(labels)


def _examples() -> dict[str, tuple[list[str], list[str]]]:
    out: dict[str, tuple[list[str], list[str]]] = {"urgency": ([], []), "sentiment": ([], [])}
    text = resources.files("agent_graph.data").joinpath("tone_examples.jsonl").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            out[row["kind"]][0].append(row["text"])
            out[row["kind"]][1].append(row["label"])
    return out


def _apply_cues(probs: dict[str, float], cues: dict[str, re.Pattern[str]], text: str) -> dict[str, float]:
    hit = [label for label, pattern in cues.items() if pattern.search(text)]
    if not hit:
        return probs
    adjusted = dict(probs)
    for label in hit:
        adjusted[label] = max(adjusted.get(label, 0.0), CUE_FLOOR)
    total = sum(adjusted.values())
    return {k: v / total for k, v in adjusted.items()}


class ToneModel:
    """Trained once per process on first use (about 60 short texts: well under a second)."""

    def __init__(self) -> None:
        self._heads: dict[str, IntentClassifier] | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> dict[str, IntentClassifier]:
        if self._heads is None:
            async with self._lock:
                if self._heads is None:
                    heads = {}
                    for kind, (texts, labels) in _examples().items():
                        vectors = await embed_many_async(texts)
                        heads[kind] = IntentClassifier().fit_embeddings(vectors, labels)
                    self._heads = heads
        return self._heads

    async def shared_head(self, kind: str) -> IntentClassifier:
        """The process-wide head for ``kind``: what serves a tenant without a promoted head of its own."""
        return (await self._ensure())[kind]

    async def predict(self, text: str, vector: np.ndarray, *, urgency_head: IntentClassifier | None = None) -> Tone:
        """``urgency_head``: the tenant's promoted head (:class:`TenantUrgencyHeads`), None for the shared one."""
        heads = await self._ensure()
        urgency = _label(urgency_head or heads["urgency"], URGENCY_CUES, text, vector)
        sentiment = _label(heads["sentiment"], SENTIMENT_CUES, text, vector)
        return Tone(*urgency, *sentiment)


def _label(head: IntentClassifier, cues: dict[str, re.Pattern[str]], text: str, vector: np.ndarray) -> tuple[str, float]:
    p, _ = head.probabilities(vector[None, :])
    probs = _apply_cues({label: float(p[0, i]) for i, label in enumerate(head.labels)}, cues, text)
    label = max(probs, key=lambda k: probs[k])
    return label, round(probs[label], 4)


def urgency_label(head: IntentClassifier, text: str, vector: np.ndarray) -> str:
    """The urgency serving would give ``text`` with ``head``: cue words included."""
    return _label(head, URGENCY_CUES, text, vector)[0]


class TenantUrgencyHeads:
    """Each tenant's promoted urgency head, loaded once per version per process.

    One indexed row is read per call to notice a promotion made by another process; a head that no
    longer loads (trained on another embedding model) falls back to the shared head rather than
    failing the classification.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._cache: dict[int, tuple[int, IntentClassifier | None]] = {}

    async def get(self, tenant_id: int) -> IntentClassifier | None:
        async with self.pool.connection() as conn:
            version = await classifiers.active_urgency_version(conn, tenant_id)
            if version is None:
                self._cache.pop(tenant_id, None)
                return None
            cached = self._cache.get(tenant_id)
            if cached is not None and cached[0] == version:
                return cached[1]
            stored = await classifiers.active_urgency_model(conn, tenant_id)
        head: IntentClassifier | None = None
        if stored is not None:
            try:
                head = IntentClassifier.load(stored.model)
            except ValueError:
                head = None
            self._cache[tenant_id] = (stored.version, head)
        return head


_shared: ToneModel | None = None


def shared_tone_model() -> ToneModel:
    """One per process: the shared heads are the same for every tenant and backend instance."""
    global _shared
    if _shared is None:
        _shared = ToneModel()
    return _shared


def complexity(text: str, top: list[tuple[str, float]]) -> tuple[str, float]:
    """Rough effort estimate: several questions or two strong topics make a message complex."""
    questions = text.count("?")
    words = len(text.split())
    two_topics = len(top) > 1 and top[1][1] >= 0.3
    if questions >= 3 or words > 180 or (two_topics and words > 40):
        return "complex", 0.7
    if questions == 2 or words > 80 or two_topics:
        return "moderate", 0.6
    return "simple", 0.7
