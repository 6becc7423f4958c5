"""Each tenant's category classifier: trained from its examples, stored in PostgreSQL, cached per process.

A tenant with no examples of its own still gets a working classifier from the shipped defaults
(``data/default_examples.jsonl``) for whichever default categories it uses. When the tenant's
examples or category list change, the next run retrains (a second or two) and stores a new version,
which every other worker then loads instead of training again.

Every head is temperature-calibrated on out-of-fold predictions of its own examples
(:func:`agent_graph.calibration.fit_calibrated`; T = 1.0 below a few dozen examples). Heads stored
before that keep their uncalibrated confidences until their examples change or a retrain replaces
them: the training signature does not include the recipe on purpose, because changing it would
retrain every tenant from examples and silently replace heads promoted from agents' feedback (and
the gates measured for them).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agent_graph.calibration import fit_calibrated
from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed_many_async, get_embedder
from store import classifiers

log = logging.getLogger(__name__)
DEFAULTS_VERSION = 1  # bump when data/default_examples.jsonl changes, so tenants retrain


@dataclass(frozen=True)
class CategoryModel:
    classifier: IntentClassifier
    version: int
    labels: tuple[str, ...]


def default_examples() -> list[tuple[str, str]]:
    text = resources.files("agent_graph.data").joinpath("default_examples.jsonl").read_text(encoding="utf-8")
    return [(row["text"], row["category"]) for row in map(json.loads, filter(str.strip, text.splitlines()))]


def _signature(examples: list[tuple[str, str]], embedder_id: str) -> str:
    h = hashlib.sha256(f"{DEFAULTS_VERSION}\0{embedder_id}".encode())
    for text, category in sorted(examples):
        h.update(f"{category}\0{text}\0".encode())
    return h.hexdigest()


# Heads trained in this process, by training-set signature: tenants that use the shipped defaults
# (most of them, at first) share one training run instead of each paying for it.
_TRAINED: dict[str, tuple[bytes, tuple[str, ...], dict[str, Any]]] = {}
_TRAINED_MAX = 64


class TenantModels:
    """Per-process cache of tenants' category classifiers, keyed by stored version."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._cache: dict[int, CategoryModel] = {}
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        # tenant → (stamp the cached model was checked against, the model): the per-message fast path.
        self._checked: dict[int, tuple[tuple[Any, ...], CategoryModel]] = {}

    async def training_set(self, tenant_id: int, categories: tuple[str, ...]) -> list[tuple[str, str]]:
        async with self.pool.connection() as conn:
            own = await classifiers.examples(conn, tenant_id)
        wanted = set(categories)
        pairs = [(e.text, e.category) for e in own if e.category in wanted]
        pairs += [(t, c) for t, c in default_examples() if c in wanted]
        return pairs

    async def get(self, tenant_id: int, categories: tuple[str, ...]) -> CategoryModel:
        """One cheap query per message; examples are read and hashed (under the lock) only after a change.

        The lock used to be taken on every call, which queued every concurrent agent run of a tenant
        behind one another's example reads: the largest single cost under load.
        """
        async with self.pool.connection() as conn:
            key = (*(await classifiers.stamp(conn, tenant_id)), categories)
        checked = self._checked.get(tenant_id)
        if checked is not None and checked[0] == key:
            return checked[1]
        model = await self._load(tenant_id, categories)
        self._checked[tenant_id] = (key, model)
        return model

    async def _load(self, tenant_id: int, categories: tuple[str, ...]) -> CategoryModel:
        async with self._locks[tenant_id]:
            pairs = await self.training_set(tenant_id, categories)
            signature = _signature(pairs, get_embedder().model_id)
            cached = self._cache.get(tenant_id)
            async with self.pool.connection() as conn:
                stored = await classifiers.latest_model(conn, tenant_id)
            if stored is not None and stored.examples_hash == signature:
                if cached is not None and cached.version == stored.version:
                    return cached
                clf = IntentClassifier.load(stored.model)
                model = CategoryModel(clf, stored.version, stored.labels)
            else:
                model = await self._train(tenant_id, pairs, signature)
            self._cache[tenant_id] = model
            return model

    async def _train(self, tenant_id: int, pairs: list[tuple[str, str]], signature: str) -> CategoryModel:
        trained = _TRAINED.get(signature)
        if trained is None:
            trained = await self._fit(tenant_id, pairs)
            if len(_TRAINED) >= _TRAINED_MAX:
                _TRAINED.pop(next(iter(_TRAINED)))
            _TRAINED[signature] = trained
        blob, labels, metrics = trained
        async with self.pool.connection() as conn, conn.transaction():
            version = await classifiers.save_model(conn, tenant_id, embedder=get_embedder().model_id, labels=labels,
                                                   model=blob, examples_hash=signature, metrics=metrics)
        log.info("stored category classifier v%s for tenant %s: %s", version, tenant_id, metrics)
        # Loaded from bytes so this process scores exactly like one that loads the stored row.
        return CategoryModel(IntentClassifier.load(blob), version, labels)

    @staticmethod
    async def _fit(tenant_id: int, pairs: list[tuple[str, str]]) -> tuple[bytes, tuple[str, ...], dict[str, Any]]:
        labels = [c for _, c in pairs]
        if len(set(labels)) < 2:
            raise ValueError(f"tenant {tenant_id}: a classifier needs examples for at least two categories")
        vectors = await embed_many_async([t for t, _ in pairs])
        # Calibrated here, once, so the per-category gates and the policy thresholds read confidences
        # that mean what they say; the temperature travels in the model bytes to every worker.
        fit = await asyncio.to_thread(fit_calibrated, vectors, labels)
        counts: dict[str, int] = defaultdict(int)
        for label in labels:
            counts[label] += 1
        metrics: dict[str, Any] = {"examples": len(pairs), "per_label": dict(counts), **fit.metrics()}
        return fit.classifier.save(), tuple(fit.classifier.labels), metrics
