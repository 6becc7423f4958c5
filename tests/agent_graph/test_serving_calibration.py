"""Serving heads are temperature-calibrated, whichever path trains them, and it shows on held-out rows.

Fixed data: six BANKING77 card intents that a few-shot head confuses (the learning tests' set), the
first 20 utterances per intent taught as the tenant's examples and the next 40 held out. The real
offline model and a real PostgreSQL: the head is the one TenantModels stores and every worker loads.
"""

from __future__ import annotations

import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent_graph import retrain as rt
from agent_graph.calibration import (
    MIN_CALIBRATION_EXAMPLES,
    SERVING_MAX_TEMPERATURE,
    SERVING_MIN_TEMPERATURE,
    expected_calibration_error,
    fit_calibrated,
)
from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed, get_embedder
from agent_graph.tenant_models import TenantModels
from store import classifiers, tenants
from store.tenants import Tenant
from tests.agent_graph.banking import utterances_by_intent
from tests.agent_graph.test_learning import INTENTS

SHOTS, HELD_OUT = 20, 40


def _split() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    by_intent = utterances_by_intent(INTENTS)
    taught = [(t, i) for i in INTENTS for t in by_intent[i][:SHOTS]]
    held = [(t, i) for i in INTENTS for t in by_intent[i][SHOTS:SHOTS + HELD_OUT]]
    return taught, held


def _ece(clf: IntentClassifier, vectors: np.ndarray, truth: list[str]) -> tuple[float, float]:
    """(ECE, accuracy) of ``clf``'s top confidence on labelled rows."""
    preds = clf.predict_embeddings(vectors)
    correct = [p.label == y for p, y in zip(preds, truth, strict=True)]
    return expected_calibration_error([p.confidence for p in preds], correct), float(np.mean(correct))


async def test_tenant_head_carries_a_fitted_temperature_that_lowers_held_out_ece(
    pool: AsyncConnectionPool, tenant: Tenant,
) -> None:
    taught, held = _split()
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"categories": INTENTS})
        await classifiers.add_examples(conn, tenant.id, taught)
    model = await TenantModels(pool).get(tenant.id, tuple(INTENTS))
    async with pool.connection() as conn:
        stored = await classifiers.latest_model(conn, tenant.id)
    assert stored is not None and stored.version == model.version
    served = IntentClassifier.load(stored.model)  # what another worker serves
    t = served.config.temperature
    assert t != 1.0 and SERVING_MIN_TEMPERATURE <= t <= SERVING_MAX_TEMPERATURE
    assert model.classifier.config.temperature == t
    assert stored.metrics["temperature"] == t and stored.metrics["calibration_dev_n"] == len(taught)
    assert stored.metrics["cv_accuracy"] is not None

    vectors = embed([x for x, _ in held])
    truth = [y for _, y in held]
    after, acc_after = _ece(served, vectors, truth)
    before, acc_before = _ece(served.with_temperature(1.0), vectors, truth)
    print(f"T={t} held-out ECE {before:.4f} -> {after:.4f} (accuracy {acc_after:.3f}, n={len(held)})")
    assert acc_after == acc_before  # a temperature never changes the label
    assert after < 0.6 * before  # 0.075 → 0.028 on this data


async def test_retrain_candidates_are_calibrated_the_same_way() -> None:
    taught, held = _split()
    candidate = await rt.fit_candidate(taught)
    raw = await rt.fit_candidate(taught, calibrate=False)
    assert raw.config.temperature == 1.0
    t = candidate.config.temperature
    assert t != 1.0 and SERVING_MIN_TEMPERATURE <= t <= SERVING_MAX_TEMPERATURE
    vectors = embed([x for x, _ in held])
    truth = [y for _, y in held]
    assert _ece(candidate, vectors, truth)[0] < _ece(raw, vectors, truth)[0]


def _clusters(per_label: int, labels: int = 3, spread: float = 0.3, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(labels, get_embedder().dim))
    x = np.concatenate([c + spread * rng.normal(size=(per_label, len(c))) for c in centres])
    return x / np.linalg.norm(x, axis=1, keepdims=True), [f"l{k}" for k in range(labels) for _ in range(per_label)]


def test_too_few_examples_keep_temperature_one() -> None:
    x, labels = _clusters(per_label=2)  # fewer than the folds: no out-of-fold predictions at all
    fit = fit_calibrated(x, labels)
    assert fit.temperature == 1.0 and fit.cv_accuracy is None and fit.dev_n == 0
    per_label = (MIN_CALIBRATION_EXAMPLES - 1) // 3
    x, labels = _clusters(per_label=per_label)  # folds work, but too few points to fit T on
    fit = fit_calibrated(x, labels)
    assert fit.temperature == 1.0 and fit.cv_accuracy is not None and fit.dev_n == 0


def test_a_dev_split_without_errors_cannot_sharpen_past_the_floor() -> None:
    # Well-separated clusters: every out-of-fold prediction is right, so the dev NLL keeps falling as
    # T shrinks; unbounded, every confidence would become 1.0 and no gate could rank them.
    x, labels = _clusters(per_label=15, spread=0.05)
    fit = fit_calibrated(x, labels)
    assert fit.cv_accuracy == 1.0 and fit.dev_n == 45
    assert abs(fit.temperature - SERVING_MIN_TEMPERATURE) < 0.01
