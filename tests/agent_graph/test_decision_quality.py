"""Decision quality: calibration, per-category gates, the person-request detector, the bench's leak guard.

All synthetic or hand-made and seeded: milliseconds, no model calls beyond the session's warm model.
The full measurement is ``python -m bench.decide`` (see BENCHMARKS.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent_graph.calibration import (
    IsotonicCalibrator,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from agent_graph.classifier import IntentClassifier
from agent_graph.deps import DEFAULT_POLICY
from agent_graph.embedder import get_embedder
from agent_graph.gates import auto_allowed, choose_gates, gates_setting
from agent_graph.nodes.decide import Decision, judge
from agent_graph.nodes.safety import asks_for_person
from agent_graph.state import AgentState
from bench.decide import held_out_pair


def _overconfident(n: int = 4000, k: int = 5, sharpen: float = 3.0, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z), reported as softmax(sharpen·z): an over-confident model."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.0, size=(n, k))
    true_p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in true_p])
    reported = np.exp(sharpen * z) / np.exp(sharpen * z).sum(axis=1, keepdims=True)
    return reported, y, true_p


def test_ece_is_zero_when_confidence_matches_accuracy_and_measures_the_gap() -> None:
    assert expected_calibration_error([0.8] * 10, [True] * 8 + [False] * 2) == pytest.approx(0.0)
    # Two bins: 0.95 on 4 rows all right (gap 0.05), 0.55 on 4 rows half right (gap 0.05).
    conf = [0.95] * 4 + [0.55] * 4
    hit = [True] * 4 + [True, True, False, False]
    assert expected_calibration_error(conf, hit) == pytest.approx(0.05)
    assert expected_calibration_error([], []) == 0.0


def test_temperature_scaling_lowers_ece_on_an_overconfident_model() -> None:
    probs, y, _ = _overconfident()
    dev, test = slice(0, 2000), slice(2000, None)
    t = fit_temperature(probs[dev], y[dev])
    assert 2.4 < t < 3.6  # undoes the 3× sharpening
    before_p, after_p = probs[test], apply_temperature(probs[test], t)
    correct = before_p.argmax(axis=1) == y[test]
    assert (after_p.argmax(axis=1) == before_p.argmax(axis=1)).all()  # calibration never changes the label
    before = expected_calibration_error(before_p.max(axis=1), correct)
    after = expected_calibration_error(after_p.max(axis=1), correct)
    assert before > 0.1 and after < 0.03 and after < before / 4

    iso = IsotonicCalibrator.fit(probs[dev].max(axis=1), probs[dev].argmax(axis=1) == y[dev])
    assert expected_calibration_error(iso(before_p.max(axis=1)), correct) < before / 2
    assert set(iso.to_json()) == {"x", "y"}


def test_classifier_stores_its_temperature_with_the_model_bytes() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, get_embedder().dim))
    x = np.concatenate([c + 0.3 * rng.normal(size=(8, len(c))) for c in centres])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = [name for name in ("a", "b", "c") for _ in range(8)]
    clf = IntentClassifier().fit_embeddings(x, labels)
    hot = clf.with_temperature(2.0)
    loaded = IntentClassifier.load(hot.save())
    assert loaded.config.temperature == 2.0
    raw, _ = clf.probabilities(x)
    cal, _ = loaded.probabilities(x)
    assert (raw.argmax(axis=1) == cal.argmax(axis=1)).all()
    assert cal.max(axis=1).mean() < raw.max(axis=1).mean()  # T > 1 softens
    np.testing.assert_allclose(cal, apply_temperature(raw, 2.0), atol=1e-3)
    with pytest.raises(ValueError):
        clf.with_temperature(0)


def test_gates_pick_the_lowest_threshold_at_target_and_refuse_weak_categories() -> None:
    # Category a: right at 0.99, 0.95, 0.90; wrong at 0.80; right at 0.70.
    #   ≥0.90 → 3/3 = 1.00 (passes), ≥0.80 → 3/4, ≥0.70 → 4/5 = 0.80: the gate is 0.90.
    # Category b: one error near the top, never reaches 0.98 → refused (suggest).
    # Category c: an out-of-scope message (label "oos") at 0.97 counts against c.
    labels = ["a", "a", "a", "b", "a", "b", "x", "b", "b", "c", "oos", "c"]
    predicted = ["a", "a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c"]
    confidence = [0.99, 0.95, 0.90, 0.80, 0.70, 0.99, 0.97, 0.96, 0.60, 0.99, 0.97, 0.5]
    gates = choose_gates(labels, predicted, confidence, target=0.98, min_support=1,
                         categories=["a", "b", "c", "d"], disabled=["d"])
    assert gates["a"].threshold == 0.90 and gates["a"].precision == 1.0 and gates["a"].support == 3
    assert gates["b"].threshold == 0.99  # only the single top answer is safe
    strict = choose_gates(labels, predicted, confidence, target=0.98, min_support=2)
    assert strict["b"].threshold is None and "no threshold" in strict["b"].reason
    assert strict["b"].precision == 0.75  # the best it got, shown to the admin
    assert gates["c"].threshold == 0.99  # the oos message at 0.97 keeps the gate above it
    assert gates["d"].threshold is None and "disabled" in gates["d"].reason
    few = choose_gates(["a"] * 3, ["a"] * 3, [0.9] * 3, min_support=10)
    assert few["a"].threshold is None and "not enough evidence" in few["a"].reason
    # Routed-away examples (None) do not count for any category; tied confidences pass together.
    tied = choose_gates(["a", "b", "a"], ["a", "a", None], [0.9, 0.9, 0.5], target=0.98, min_support=1)
    assert tied["a"].threshold is None

    setting = gates_setting(gates)
    assert setting == {"a": 0.9, "b": 0.99, "c": 0.99, "d": None}
    assert auto_allowed(setting, "a", 0.91) and not auto_allowed(setting, "a", 0.89)
    assert not auto_allowed(setting, "d", 1.0) and not auto_allowed(setting, "unknown", 1.0)
    assert auto_allowed(None, "anything", 0.1) and auto_allowed({}, "anything", 0.1)


def _state(category: str, category_confidence: float) -> AgentState:
    return AgentState(
        gathered=["How do I change the shipping address on my order before it ships?"],
        classification={"category": category, "category_confidence": category_confidence, "urgency": "normal",
                        "sentiment": "neutral", "sentiment_confidence": 0.9, "complexity": "simple"},
        classify_meta={"out_of_scope": False, "margin": 0.5},
        safety={"critical": [], "handoff": []},
        retrieval_score=0.7,
    )


def test_decide_applies_the_tenant_gates_before_auto_resolving() -> None:
    p: dict[str, Any] = dict(DEFAULT_POLICY)
    assert judge(_state("shipping", 0.95), p, {}, set()).decision is Decision.ANSWER  # no gates: as before
    gates = {"shipping": 0.9, "billing": None}
    assert judge(_state("shipping", 0.95), p, {}, set(), gates).decision is Decision.ANSWER
    low = judge(_state("shipping", 0.85), p, {}, set(), gates)
    assert low.decision is Decision.SUGGEST and "below 0.90" in low.reason
    off = judge(_state("billing", 0.99), p, {}, set(), gates)
    assert off.decision is Decision.SUGGEST and "no automatic answers" in off.reason


def test_out_of_scope_is_never_answered_automatically_whatever_the_scores() -> None:
    p: dict[str, Any] = dict(DEFAULT_POLICY)
    in_scope = _state("shipping", 0.95)
    assert judge(in_scope, p, {}, set()).decision is Decision.ANSWER  # the same scores, in scope
    oos = _state("shipping", 0.95)
    oos["classify_meta"]["out_of_scope"] = True
    draft = judge(oos, p, {}, set(), {"shipping": 0.5})  # even with a gate that would let it through
    assert draft.decision is Decision.SUGGEST and "out of scope" in draft.reason
    assert draft.confidence >= p["auto_resolve"]
    # Every retrieval strength and category confidence, and a tenant whose suggest threshold sits above
    # auto_resolve: drafts, questions or humans, never an answer.
    for policy_ in (p, {**p, "suggest": 0.9, "auto_resolve": 0.6}):
        for cosine in np.linspace(0.0, 1.0, 21):
            for conf in (0.05, 0.5, 0.99):
                state = _state("shipping", conf)
                state["classify_meta"]["out_of_scope"] = True
                state["retrieval_score"] = float(cosine)
                verdict = judge(state, policy_, {}, set())
                assert verdict.decision is not Decision.ANSWER, (policy_, cosine, conf, verdict)
    low = _state("shipping", 0.05)
    low["classify_meta"]["out_of_scope"] = True
    low["retrieval_score"] = 0.37  # above retrieval_min, far below auto_resolve
    assert judge(low, p, {}, set()).decision is Decision.HANDOFF


@pytest.mark.parametrize("text", [
    "need help speaking with somebody", "I want help talking with an agent", "can I talkk to someone?",
    "i need hep talking to a eprson", "I am trying to chat with a damn agent", "how could i talk with an assistant",
    "wanna contact somebody", "chat wth somebody", "Ich möchte mit einem Mitarbeiter sprechen",
    "Quiero hablar con un agente", "Je veux parler à quelqu'un",
])
def test_person_requests_in_many_phrasings_and_typos(text: str) -> None:
    assert asks_for_person(text) is not None


@pytest.mark.parametrize("text", [
    "please update the contact person on my account", "my agent id is 5", "that was a human error",
    "I spoke with someone yesterday and they said it ships today", "I am content with the service",
    "track my order", "what does the chat widget cost",
])
def test_person_detector_stays_quiet_on_ordinary_messages(text: str) -> None:
    assert asks_for_person(text) is None


def test_bench_removes_test_texts_from_training_by_hash(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    train.write_text(
        "instruction,intent,response\n"
        "Where is my order?,track_order,x\n"
        "cancel my order,cancel_order,x\n"
        "I want a refund,get_refund,x\n", encoding="utf-8")
    test = tmp_path / "test.csv"
    test.write_text("text,category\n  where IS my   order?,track_order\nnew text,get_refund\n", encoding="utf-8")
    kept, held, removed = held_out_pair(train, test, test_frac=0.2, seed=0)
    assert removed == 1 and kept.texts == ["cancel my order", "I want a refund"] and len(held) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("utterance,label\nhi,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="need columns"):
        held_out_pair(bad, test, test_frac=0.2, seed=0)
