"""The n-gram second signal of the person-request detector: the scorer matches sklearn, and it stays quiet
where it must (every look-alike of our tables, and wherever the patterns' guards decline)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agent_graph import human_request
from agent_graph.human_request import asks_for_person
from agent_graph.human_request_model import (
    MODEL_PATH,
    _strip_accents,
    char_wb_ngrams,
    load_model,
    model_fires,
    person_request_probability,
)
from bench.decide import HUMAN_DEV, phrasing_tables, read_person_requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TABLES = [*phrasing_tables(), HUMAN_DEV]
PARAMS = json.loads(MODEL_PATH.read_text(encoding="utf-8"))

# Help questions, one's own team, the past: none is a request, and the model must not say otherwise.
QUIET = [
    "How do I reset my password?",
    "Can you tell me how to export my data?",
    "How do I add a new agent to my team?",
    "Can someone explain how billing works?",
    "Wie kann ich mein Passwort zurücksetzen?",
    "¿Cómo cambio mi contraseña?",
    "Comment exporter mes données ?",
    "Quiero cancelar mi suscripción",
    "How do I set up call forwarding for my team?",
    "I talked to your colleague yesterday and it is fixed now, thanks",
]


def test_the_export_is_small_and_says_how_it_was_made() -> None:
    assert MODEL_PATH.stat().st_size < 2_000_000
    assert 0.5 < PARAMS["threshold"] < 1
    assert len(PARAMS["vocabulary"]) == len(PARAMS["idf"]) == len(PARAMS["coef"])
    assert not any("blind" in name for name in PARAMS["training_files"])
    # A dev table added since the export is not in the model yet: retrain (bench.train_human_request_model).
    assert {str(p.relative_to(REPO)) for p in TABLES} <= set(PARAMS["training_files"])
    assert all(len(digest) == 64 for digest in PARAMS["training_files"].values())
    assert PARAMS["preprocessing"]["ngram_range"] == [2, 5] and PARAMS["rounding_max_abs_diff_on_training_texts"] < 1e-4


@pytest.mark.parametrize(("text", "expected"), [tuple(p) for p in PARAMS["probes"]])
def test_the_scorer_gives_sklearns_probabilities(text: str, expected: float) -> None:
    # sklearn's predict_proba for these texts, stored by bench.train_human_request_model at export
    assert person_request_probability(text) == pytest.approx(expected, abs=1e-4)


def test_the_n_grams_are_sklearns_char_wb_n_grams() -> None:
    text_mod = pytest.importorskip("sklearn.feature_extraction.text")
    analyzer = text_mod.TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True,
                                        strip_accents="unicode").build_analyzer()
    for text, _ in PARAMS["probes"]:
        assert char_wb_ngrams(_strip_accents(text.lower()), 2, 5) == analyzer(text), text  # lower, then accents


def test_no_look_alike_of_any_table_fires_the_model() -> None:
    fired = [(path.name, text) for path in TABLES for text, asked, _ in read_person_requests(path)
             if not asked and model_fires(text) is not None]
    assert fired == []


@pytest.mark.parametrize("text", QUIET)
def test_help_questions_do_not_fire(text: str) -> None:
    assert model_fires(text) is None, (text, person_request_probability(text))
    assert asks_for_person(text) is None, text


def test_the_model_speaks_after_the_patterns_and_reports_its_probability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(human_request, "model_fires", lambda text: "model:0.9999")
    assert asks_for_person("Lleven mi caso a alguien con autoridad") == "lleven mi caso a alguien"  # the rules first
    assert asks_for_person("Wie lange dauert die Lieferung nach Wien?") == "model:0.9999"  # no pattern matched
    fires = model_fires("Lleven mi caso a alguien con autoridad para decidir, por favor.")
    assert fires is not None and fires.startswith("model:") and float(fires[6:]) >= PARAMS["threshold"]


@pytest.mark.parametrize("text", [
    "no need to call me",  # said no to
    "I don't want to talk to anyone, the article was enough",
    "Please do not call me, email is fine",
    "Ich möchte mit niemandem sprechen",
    "Bitte nicht anrufen, eine E-Mail reicht",
    "No quiero que nadie me llame",
    "je ne veux parler à personne",
    "Ne m'appelez pas, merci",
    "J'ai parlé à un conseiller hier, tout est réglé.",  # a pattern matched and its guard dropped it
    "Ich habe gestern mit einem Berater telefoniert, alles erledigt",
    "How do my customers reach a person through the widget?",  # the writer's customers, own product
])
def test_the_model_is_silenced_where_the_guards_decline(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(human_request, "model_fires", lambda _: "model:0.9999")
    assert asks_for_person(text) is None, text


def test_refusing_the_bot_does_not_silence_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(human_request, "model_fires", lambda _: "model:0.9999")
    assert asks_for_person("No quiero leer más artículos, que lo mire alguien de verdad") is not None


def test_it_loads_and_scores_fast_enough() -> None:
    load_model.cache_clear()
    started = time.perf_counter()
    load_model()
    loaded = time.perf_counter() - started
    texts = [text for text, _ in PARAMS["probes"]] * 20
    started = time.perf_counter()
    for text in texts:
        person_request_probability(text)
    per_message = (time.perf_counter() - started) / len(texts)
    assert loaded < 1.0 and per_message < 0.002  # measured ~45 ms to load and ~0.05 ms per message
