"""Confidence calibration for the intent classifier, and the error measure that says it worked.

Per-category auto-resolve gates (:mod:`agent_graph.gates`) compare a confidence with a threshold, so
the confidence has to mean what it says: of the answers given at 0.9, nine in ten should be right.
The blended head is not calibrated by construction (a logistic regression with weak regularisation
is over-confident, the nearest-exemplar softmax is sharp), so a single temperature is fitted on a
dev split carved from the tenant's training data:

* **temperature scaling** (Guo et al. 2017): ``p_T ∝ p ** (1/T)`` with one scalar ``T`` minimising the
  dev negative log-likelihood. It cannot change which label wins, has one parameter (so ~20 dev
  examples per label are enough), and is stored in the classifier's own header
  (``HeadConfig.temperature``), so it travels with the model bytes;
* **isotonic regression** on the top confidence is offered for comparison: more flexible, but it
  needs more dev data and maps many confidences onto the same step, which makes thresholds coarse.

Expected calibration error uses 15 equal-width bins over the top confidence, as in Guo et al.
The measures are pure numpy (isotonic via scikit-learn, already a dependency of the classifier).

Serving heads (:mod:`agent_graph.tenant_models`, :func:`agent_graph.retrain.fit_candidate`) are fitted
with :func:`fit_calibrated`. Their dev split is out-of-fold predictions: a few examples per label
are all a tenant has, so carving off a fixed 20 % would cost the served head a fifth of its data and
leave a dev set too small to trust. Each example is scored by a head trained without it (3 folds,
the same ones that give the cross-validated accuracy admins see), the temperature is fitted on those
predictions, and the head trained on every example carries it. The fold heads saw a third fewer
examples than the served head and are wrong more often, so the fitted temperature tends to leave
the served head's confidences a little lower than its accuracy would allow: the cautious side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from agent_graph.classifier import HeadConfig, IntentClassifier

ECE_BINS = 15
CV_FOLDS = 3
# Fewer out-of-fold predictions than this leave T = 1.0: one parameter still needs a few dozen points,
# and a tenant that has taught two examples per category has no dev data to spare.
MIN_CALIBRATION_EXAMPLES = 30
# Bounds for a served temperature. When (nearly) every out-of-fold prediction is right, the dev NLL
# keeps falling as T → 0, so the fit runs to whatever floor it is given and every confidence becomes
# 1.0: the gates then cannot tell a safe prediction from a risky one (the backend rounds confidences
# to four decimals). 0.25 already sharpens p**4; on BANKING77 few-shot tenants it calibrates as well
# as the unbounded fit. The ceiling guards the opposite accident, one odd fold flattening everything.
SERVING_MIN_TEMPERATURE = 0.25
SERVING_MAX_TEMPERATURE = 4.0


def expected_calibration_error(confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """Weighted mean |accuracy − mean confidence| over equal-width confidence bins (0 = calibrated)."""
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct, dtype=np.float64)
    if conf.size == 0:
        return 0.0
    # Bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first bin.
    idx = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() / conf.size * abs(hit[mask].mean() - conf[mask].mean())
    return float(total)


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale rows of probabilities as ``p ** (1/T)`` renormalised (the classifier does the same)."""
    logp = np.log(np.maximum(np.asarray(probs, dtype=np.float64), 1e-12)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=1, keepdims=True)


def _nll(probs: np.ndarray, y: np.ndarray, temperature: float) -> float:
    p = apply_temperature(probs, temperature)
    return float(-np.mean(np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))))


def fit_temperature(probs: np.ndarray, y: Sequence[int] | np.ndarray, lo: float = 0.05, hi: float = 20.0) -> float:
    """The temperature minimising dev NLL: a log-spaced grid, then golden-section refinement.

    The NLL is smooth and unimodal in log T in practice; the grid guards against a bad start and
    the bounds keep one odd dev set from producing an absurd value.
    """
    p = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if len(labels) == 0:
        return 1.0
    grid = np.exp(np.linspace(np.log(lo), np.log(hi), 41))
    losses = [_nll(p, labels, t) for t in grid]
    i = int(np.argmin(losses))
    a, b = np.log(grid[max(i - 1, 0)]), np.log(grid[min(i + 1, len(grid) - 1)])
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if _nll(p, labels, float(np.exp(c))) < _nll(p, labels, float(np.exp(d))):
            b = d
        else:
            a = c
    return round(float(np.exp((a + b) / 2)), 4)


@dataclass(frozen=True)
class IsotonicCalibrator:
    """Monotone step map from top confidence to accuracy; plain lists so it can live in JSON."""

    x: list[float]
    y: list[float]

    @classmethod
    def fit(cls, confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=np.float64))
        return cls([float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_])

    def __call__(self, confidence: Sequence[float] | np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(confidence, dtype=np.float64), self.x, self.y)

    def to_json(self) -> dict[str, list[float]]:
        return {"x": self.x, "y": self.y}


@dataclass(frozen=True)
class OutOfFold:
    """Each example's label probabilities from a head that was not trained on it."""

    probabilities: np.ndarray  # (n, n_labels), columns in ``labels`` order
    truth: np.ndarray  # (n,) index into ``labels``
    labels: list[str]

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.probabilities.argmax(axis=1) == self.truth))


def out_of_fold(vectors: np.ndarray, labels: Sequence[str], folds: int = CV_FOLDS,
                config: HeadConfig | None = None) -> OutOfFold | None:
    """k-fold predictions, or None when some label has fewer than ``folds`` examples.

    Folds deal each label's examples round-robin in the order given, so every fold head knows every
    label and the same examples in the same order always give the same split (and metrics).
    """
    from agent_graph.classifier import IntentClassifier

    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    y = np.array([index[label] for label in labels], dtype=np.int64)
    if len(names) < 2 or min(int((y == i).sum()) for i in range(len(names))) < folds:
        return None
    fold_of = np.zeros(len(y), dtype=np.int64)
    for i in range(len(names)):
        members = np.flatnonzero(y == i)
        fold_of[members] = np.arange(len(members)) % folds
    x = np.asarray(vectors, dtype=np.float32)
    probs = np.zeros((len(y), len(names)), dtype=np.float64)
    for f in range(folds):
        train, test = np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)
        head = IntentClassifier(config=config).fit_embeddings(x[train], [labels[i] for i in train])
        p, _ = head.probabilities(x[test])
        probs[np.ix_(test, [index[name] for name in head.labels])] = p
    return OutOfFold(probs, y, names)


@dataclass(frozen=True)
class CalibratedFit:
    """A head fitted on every example with its temperature, and the evidence shown next to it."""

    classifier: IntentClassifier
    cv_accuracy: float | None  # out-of-fold accuracy; None when a label has too few examples
    dev_n: int  # out-of-fold predictions the temperature was fitted on (0: T stays 1.0)
    # ECE of the out-of-fold predictions before and after; "after" is measured on the data T was
    # fitted on, so it is optimistic: the held-out figure is bench.decide's.
    ece_before: float | None
    ece_after: float | None

    @property
    def temperature(self) -> float:
        return self.classifier.config.temperature

    def metrics(self) -> dict[str, float | int | None]:
        return {"cv_accuracy": self.cv_accuracy, "temperature": self.temperature, "calibration_dev_n": self.dev_n,
                "oof_ece_before": self.ece_before, "oof_ece_after": self.ece_after}


def fit_calibrated(vectors: np.ndarray, labels: Sequence[str], folds: int = CV_FOLDS,
                   config: HeadConfig | None = None) -> CalibratedFit:
    """The serving head: trained on all examples, temperature fitted out-of-fold when there are enough.

    Blocking (``folds + 1`` logistic regressions); callers run it in a thread.
    """
    from agent_graph.classifier import IntentClassifier

    head = IntentClassifier(config=config).fit_embeddings(vectors, labels)
    oof = out_of_fold(vectors, labels, folds, config)
    if oof is None:
        return CalibratedFit(head, None, 0, None, None)
    cv = oof.accuracy
    correct = oof.probabilities.argmax(axis=1) == oof.truth
    before = round(expected_calibration_error(oof.probabilities.max(axis=1), correct), 4)
    if len(oof.truth) < MIN_CALIBRATION_EXAMPLES:
        return CalibratedFit(head, cv, 0, before, before)
    t = fit_temperature(oof.probabilities, oof.truth, lo=SERVING_MIN_TEMPERATURE, hi=SERVING_MAX_TEMPERATURE)
    after = round(expected_calibration_error(apply_temperature(oof.probabilities, t).max(axis=1), correct), 4)
    return CalibratedFit(head.with_temperature(t), cv, len(oof.truth), before, after)
