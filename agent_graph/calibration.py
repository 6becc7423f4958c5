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
Pure numpy (isotonic via scikit-learn, already a dependency of the classifier).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ECE_BINS = 15


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
