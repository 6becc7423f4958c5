"""Per-tenant intent classifier over shared sentence embeddings.

Each tenant labels its own intents with a handful of examples, so the model must learn from ~10
examples per label, train in seconds inside a worker, and be small enough to live in a PostgreSQL row.
That rules out fine-tuning the embedding model per tenant; the body is shared (one copy per process,
see :mod:`agent_graph.embedder`) and only a light head is tenant-specific.

The head blends two views of the same vectors, because they fail differently on few examples:

* multinomial logistic regression (weak regularisation, ``C=30``: embeddings are already normalised
  and few-shot data needs the weights to move), which draws boundaries between intents;
* a nearest-exemplar score per intent (softmax over each label's best cosine match), which keeps
  rare phrasings that the linear boundary averages away.

On a BANKING77 dev split this beats plain logistic regression (see BENCHMARKS.md). The blended
top probability, rescaled by the head's fitted temperature (:func:`agent_graph.calibration.fit_calibrated`),
is the confidence the graph's policy and per-category gates compare with per-tenant thresholds.

Out of scope (nothing the tenant taught fits the message) is judged by a different signal: the
cosine to the closest training example. A sharp head is confidently wrong on unfamiliar text, while
distance does not depend on how many intents there are; on CLINC150 calibration data it separates
out-of-scope queries better than confidence (AUROC 0.982 vs 0.968). Flagged messages route to
clarify, a draft for an agent or handoff, never an automatic answer (agent_graph.nodes.decide).

Persistence is a compressed ``.npz`` of plain arrays plus a JSON header, loaded with
``allow_pickle=False`` so a tampered row cannot execute code.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from agent_graph.embedder import Embedder, embed_many_async, get_embedder

FORMAT_VERSION = 1


@dataclass(frozen=True)
class HeadConfig:
    """Knobs chosen on a BANKING77 tuning split (never on a test set); see BENCHMARKS.md."""

    c: float = 30.0  # inverse L2 strength of the logistic regression
    knn_weight: float = 0.3  # share of the nearest-exemplar score in the blend
    knn_temperature: float = 0.03  # cosine gaps of a few hundredths separate close intents
    oos_threshold: float = 0.5  # closest-example cosine below this means out of scope
    top_k: int = 3
    max_iter: int = 2000
    # Confidence calibration (agent_graph.calibration): blended probabilities are sharpened or
    # softened as p**(1/T), renormalised; 1.0 = uncalibrated. Fitted on a dev split, stored in the header.
    temperature: float = 1.0


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float  # blended probability of ``label``
    top: list[tuple[str, float]] = field(default_factory=list)  # best labels first, with probabilities
    out_of_scope: bool = False
    similarity: float = 0.0  # cosine to the closest training example, a second out-of-scope cue


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class IntentClassifier:
    """Train with :meth:`fit`, use with :meth:`predict` / :meth:`predict_async`, persist with :meth:`save`."""

    def __init__(self, embedder: Embedder | None = None, config: HeadConfig | None = None) -> None:
        self._embedder = embedder
        self.config = config or HeadConfig()
        self.model_id = (embedder or get_embedder()).model_id
        self.labels: list[str] = []
        self._coef: np.ndarray | None = None  # (n_labels, dim)
        self._intercept: np.ndarray | None = None  # (n_labels,)
        self._exemplars: np.ndarray | None = None  # (n_examples, dim), sorted by label
        self._offsets: np.ndarray | None = None  # start row of each label's exemplars

    @property
    def embedder(self) -> Embedder:
        return self._embedder or get_embedder()

    @property
    def is_fitted(self) -> bool:
        return self._coef is not None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> IntentClassifier:
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        return self.fit_embeddings(self.embedder.embed(texts), labels)

    def fit_embeddings(self, vectors: np.ndarray, labels: Sequence[str]) -> IntentClassifier:
        """Fit on precomputed vectors (benchmarks embed once and try many heads)."""
        from sklearn.linear_model import LogisticRegression

        names = sorted(set(labels))
        if len(names) < 2:
            raise ValueError("an intent classifier needs at least two labels")
        index = {name: i for i, name in enumerate(names)}
        y = np.array([index[label] for label in labels])
        x = np.asarray(vectors, dtype=np.float32)

        lr = LogisticRegression(C=self.config.c, max_iter=self.config.max_iter)
        lr.fit(x, y)
        order = np.argsort(y, kind="stable")
        self.labels = names
        self._coef = lr.coef_.astype(np.float32)
        self._intercept = lr.intercept_.astype(np.float32)
        # Rounded to float16 now, not only on save, so a loaded copy scores exactly like this one.
        self._exemplars = x[order].astype(np.float16).astype(np.float32)
        self._offsets = np.searchsorted(y[order], np.arange(len(names))).astype(np.int64)
        return self

    def probabilities(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Blended label probabilities ``(n, n_labels)`` and best exemplar cosine ``(n,)``."""
        if self._coef is None or self._intercept is None or self._exemplars is None or self._offsets is None:
            raise RuntimeError("classifier is not fitted")
        x = np.asarray(vectors, dtype=np.float32)
        p_lr = _softmax(x @ self._coef.T + self._intercept)
        sims = x @ self._exemplars.T
        per_label = np.maximum.reduceat(sims, self._offsets, axis=1)
        w = self.config.knn_weight
        p = (1 - w) * p_lr + w * _softmax(per_label / self.config.knn_temperature)
        if self.config.temperature != 1.0:
            p = _softmax(np.log(np.maximum(p, 1e-12)) / self.config.temperature)
        return p, per_label.max(axis=1)

    def predict_embeddings(self, vectors: np.ndarray) -> list[Prediction]:
        if len(vectors) == 0:
            return []
        p, best_sim = self.probabilities(vectors)
        k = min(self.config.top_k, len(self.labels))
        top_idx = np.argsort(-p, axis=1)[:, :k]
        out: list[Prediction] = []
        for row, idx, sim in zip(p, top_idx, best_sim, strict=True):
            top = [(self.labels[i], float(row[i])) for i in idx]
            confidence = top[0][1]
            out.append(
                Prediction(
                    label=top[0][0],
                    confidence=confidence,
                    top=top,
                    out_of_scope=float(sim) < self.config.oos_threshold,
                    similarity=float(sim),
                )
            )
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Blocking; for workers and benchmarks. Inside the event loop use :meth:`predict_async`."""
        return self.predict_embeddings(self.embedder.embed(texts))

    async def predict_async(self, texts: Sequence[str]) -> list[Prediction]:
        """Embeds through the process micro-batcher so concurrent agent runs share model calls."""
        if self._embedder is not None and self._embedder is not get_embedder():
            # A private backend has no shared batcher; run it directly rather than on the wrong model.
            return self.predict(texts)
        return self.predict_embeddings(await embed_many_async(texts))

    def with_oos_threshold(self, threshold: float) -> IntentClassifier:
        """Same head with another out-of-scope cosine cut-off: tenants tune it without retraining."""
        return self._with_config(oos_threshold=threshold)

    def with_temperature(self, temperature: float) -> IntentClassifier:
        """Same head with calibrated confidences (the argmax, hence accuracy, does not change)."""
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        return self._with_config(temperature=temperature)

    def _with_config(self, **changes: float) -> IntentClassifier:
        clone = IntentClassifier(self._embedder, HeadConfig(**{**asdict(self.config), **changes}))
        clone.model_id = self.model_id
        clone.labels = self.labels
        clone._coef, clone._intercept = self._coef, self._intercept
        clone._exemplars, clone._offsets = self._exemplars, self._offsets
        return clone

    def save(self) -> bytes:
        """Plain arrays + JSON header; exemplars as float16 (halves the row, cosine error ~1e-3)."""
        if self._coef is None or self._intercept is None or self._exemplars is None or self._offsets is None:
            raise RuntimeError("classifier is not fitted")
        header = {
            "format": FORMAT_VERSION,
            "model_id": self.model_id,
            "labels": self.labels,
            "config": asdict(self.config),
        }
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
            coef=self._coef,
            intercept=self._intercept,
            exemplars=self._exemplars.astype(np.float16),
            offsets=self._offsets,
        )
        return buf.getvalue()

    @classmethod
    def load(cls, data: bytes, embedder: Embedder | None = None) -> IntentClassifier:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode("utf-8"))
            if header.get("format") != FORMAT_VERSION:
                raise ValueError(f"unsupported classifier format {header.get('format')!r}")
            clf = cls(embedder, HeadConfig(**header["config"]))
            if clf.model_id != header["model_id"]:
                raise ValueError(
                    f"classifier was trained on {header['model_id']!r} vectors, embedder is {clf.model_id!r}"
                )
            clf.labels = list(header["labels"])
            clf._coef = npz["coef"].astype(np.float32)
            clf._intercept = npz["intercept"].astype(np.float32)
            clf._exemplars = npz["exemplars"].astype(np.float32)
            clf._offsets = npz["offsets"].astype(np.int64)
        return clf
