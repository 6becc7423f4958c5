"""Decision-quality benchmark: what the automatic path would send, and how often it would be wrong.

Measures the mechanism behind "only auto-resolve ticket types with 98 %+ accuracy in testing":

1. the classifier (:mod:`agent_graph.classifier`) is trained on a fit part of the training file;
2. a dev split carved from the **training file only** fits the temperature
   (:mod:`agent_graph.calibration`), the out-of-scope cosine cut-off and the per-category gates
   (:mod:`agent_graph.gates`); CLINC150 ``oos_train`` plus a sample of CLINC150 ``train`` (queries about
   banking, travel, … that no intent of this tenant covers) join the dev set as negatives;
3. the test file is scored once: auto_rate / auto_precision / wrong_auto_answers on the in-scope
   test, ECE before/after calibration, and CLINC150 ``oos_val`` (+ ``val``, out of domain here)
   messages that would be answered automatically;
4. the real request-for-a-person detector (:func:`agent_graph.nodes.safety.asks_for_person`) is scored
   on ``bench/data/human_requests_blind.csv`` (written by someone who never saw the detector, scored
   once after it was final: ``human_request_recall``), on the burned ``human_requests_heldout.csv``
   that it was developed on (``human_request_recall_dev``) and on the test split's human-request
   intents (``human_request_recall_bitext``); ``human_request_false_alarms`` is the share of each
   file's look-alikes that fire.

A message is answered automatically when the detector does not fire, the out-of-scope flag is off,
its predicted category has a gate, and the calibrated confidence reaches that gate. Categories that
mean "a person, please" are never automatic.

    python -m bench.decide --json      # Bitext sample: 20 % test carved by seed, CLINC150 train/val
    python -m bench.decide --train A.csv --test B.csv --json

Every run removes training rows (and CLINC negatives) whose text (case/space-normalised, sha256)
occurs in any test text, and reports the count as ``leaked_removed``.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_graph.calibration import (
    IsotonicCalibrator,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from agent_graph.classifier import HeadConfig, IntentClassifier
from agent_graph.embedder import get_embedder
from agent_graph.gates import DEFAULT_MIN_SUPPORT, DEFAULT_TARGET, auto_allowed, choose_gates, gates_setting
from agent_graph.nodes.safety import asks_for_person
from bench import intent as intent_bench
from bench.intent import choose_threshold
from bench.intent_data import Examples, read_clinc, remove_overlap, sample_shots, stratified_split
from bench.leakage import remove_leaked

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
BITEXT = DATASETS / "bitext_customer_support" / "train.csv"
CLINC = DATASETS / "clinc150" / "data_full_train_val.json"
HUMAN_INTENTS = ("contact_human_agent",)
HUMAN_BLIND = Path(__file__).resolve().parent / "data" / "human_requests_blind.csv"
HUMAN_DEV = Path(__file__).resolve().parent / "data" / "human_requests_heldout.csv"
OWN_PHRASINGS = Path(__file__).resolve().parents[1] / "tests" / "agent_graph" / "human_request_phrasings.csv"
_YES = frozenset({"1", "true", "yes", "human", "person", "human_request", "handoff"})
_NO = frozenset({"0", "false", "no", "lookalike", "look-alike", "look_alike", "negative", "other", "not_human"})


def read_examples(path: str | Path) -> Examples:
    """Bitext layout (``instruction``, ``intent``) or the intent benches' ``text,category``."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or ())
        text_col, label_col = ("instruction", "intent") if {"instruction", "intent"} <= fields else ("text", "category")
        if not {text_col, label_col} <= fields:
            raise ValueError(f"{path}: need columns instruction,intent or text,category (found {sorted(fields)})")
        rows = [(r[text_col], r[label_col]) for r in reader]
    return Examples([t for t, _ in rows], [lbl for _, lbl in rows])


def held_out_pair(train_path: str | Path, test_path: str | Path | None, test_frac: float, seed: int
                  ) -> tuple[Examples, Examples, int]:
    """(train, test, removed): the test file, or a stratified slice of the train file; overlap removed."""
    train = read_examples(train_path)
    if test_path is None:
        train, test = stratified_split(train, test_frac, seed)
    else:
        test = read_examples(test_path)
    train, removed = remove_overlap(train, test)
    return train, test, removed


def _auto_mask(predicted: Sequence[str], confidence: np.ndarray, out_of_scope: np.ndarray,
               person: np.ndarray, setting: dict[str, float | None]) -> np.ndarray:
    return np.array([
        not oos and not asked and auto_allowed(setting, p, float(c))
        for p, c, oos, asked in zip(predicted, confidence, out_of_scope, person, strict=True)
    ], dtype=bool)


def read_person_requests(path: str | Path) -> list[tuple[str, bool, str]]:
    """(text, asks for a person, language) rows; the label column is ``label`` or ``asks_for_person``."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        label_col = "label" if "label" in (reader.fieldnames or ()) else "asks_for_person"
        rows = []
        for row in reader:
            value = (row.get(label_col) or "").strip().lower()
            if value not in _YES | _NO:
                raise ValueError(f"{path}: {label_col} must be one of {sorted(_YES | _NO)} (found {value!r})")
            rows.append((row["text"], value in _YES, (row.get("language") or "").strip()))
    return rows


def score_person_requests(path: str | Path, developed_on: Iterable[str] = ()) -> dict[str, Any]:
    """Recall on the requests, false-alarm rate on the look-alikes, recall per language.

    Rows whose text (by hash, :mod:`bench.leakage`) is in ``developed_on`` are left out and counted
    as ``removed``: a sentence the detector was built or trained on says nothing about unseen ones."""
    rows, removed = remove_leaked(read_person_requests(path), developed_on, lambda r: r[0])
    fired = [asks_for_person(text) is not None for text, _, _ in rows]
    pos = [f for f, (_, wanted, _) in zip(fired, rows, strict=True) if wanted]
    neg = [f for f, (_, wanted, _) in zip(fired, rows, strict=True) if not wanted]
    by_language: dict[str, list[bool]] = {}
    for f, (_, wanted, language) in zip(fired, rows, strict=True):
        if wanted:
            by_language.setdefault(language, []).append(f)
    return {
        "recall": round(sum(pos) / len(pos), 4) if pos else None, "n": len(pos),
        "false_alarms": round(sum(neg) / len(neg), 4) if neg else None, "negatives_n": len(neg),
        "recall_by_language": {lang: round(sum(v) / len(v), 4) for lang, v in sorted(by_language.items())},
        "removed": removed,
    }


def phrasing_tables() -> list[Path]:
    """Our own person-request dev tables: the rules are tuned on them and the n-gram model trains on them."""
    return sorted(OWN_PHRASINGS.parent.glob("human_request_phrasings*.csv"))


def detector_development_texts(dev: str | Path) -> list[str]:
    """Every text the person-request rules were tuned on or its n-gram model was trained on: the burned
    file, our phrasing tables, and the Bitext and CLINC150 files here (when present)."""
    texts = [t for t, _, _ in read_person_requests(dev)]
    for table in phrasing_tables():
        texts += [t for t, _, _ in read_person_requests(table)]
    if BITEXT.exists():
        texts += read_examples(BITEXT).texts
    if CLINC.exists():
        data = json.loads(CLINC.read_text(encoding="utf-8"))
        texts += [text for split in data.values() for text, _ in split]
    return texts


def human_request_sets(blind: str | Path, dev: str | Path) -> dict[str, Any]:
    """The blind file is the held-out number; the burned file the detector was developed on is dev.

    ``human_request_blind_in_dev_data`` counts blind texts that also occur in what the detector was
    developed or trained on (:func:`detector_development_texts`); they are left out of the blind scores.
    """
    b, d = score_person_requests(blind, detector_development_texts(dev)), score_person_requests(dev)
    leaked = b["removed"]
    return {
        "human_request_recall": b["recall"],
        "human_request_n": b["n"],
        "human_request_recall_by_language": b["recall_by_language"],
        "human_request_recall_dev": d["recall"],
        "human_request_dev_n": d["n"],
        "human_request_false_alarms": {"blind": b["false_alarms"], "dev": d["false_alarms"]},
        "human_request_negatives_n": {"blind": b["negatives_n"], "dev": d["negatives_n"]},
        "human_request_blind_in_dev_data": leaked,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    train, test, removed = held_out_pair(args.train, args.test, args.test_frac, args.seed)
    clinc = read_clinc(args.clinc_json)
    ood_test = Examples(clinc["oos_val"].texts + clinc["val"].texts, ["oos"] * (len(clinc["oos_val"]) + len(clinc["val"])))
    everything_tested = Examples(test.texts + ood_test.texts, test.labels + ood_test.labels)
    train, removed_more = remove_overlap(train, everything_tested)
    neg_texts = clinc["oos_train"].texts + sample_shots(clinc["train"], args.clinc_shots, args.seed).texts
    negatives = Examples(neg_texts, ["oos"] * len(neg_texts))
    negatives, removed_neg = remove_overlap(negatives, everything_tested)

    fit_part, dev = stratified_split(train, args.dev_frac, args.seed)
    embed = intent_bench.embed
    clf = IntentClassifier(config=HeadConfig()).fit_embeddings(embed(fit_part.texts), fit_part.labels)
    index = {name: i for i, name in enumerate(clf.labels)}

    # --- dev: temperature, out-of-scope cut-off, gates (never the test set) ---
    dev_p, dev_sim = clf.probabilities(embed(dev.texts))
    dev_pred = np.array([clf.labels[i] for i in dev_p.argmax(axis=1)])
    dev_known = np.array([lbl in index for lbl in dev.labels])
    temperature = fit_temperature(dev_p[dev_known], [index[lbl] for lbl in np.array(dev.labels)[dev_known]])
    calibrated = clf.with_temperature(temperature)
    neg_p, neg_sim = calibrated.probabilities(embed(negatives.texts))
    oos_threshold = choose_threshold(dev_sim, dev_pred == np.array(dev.labels), neg_sim,
                                     max_in_scope_loss=args.max_in_scope_loss)
    calibrated = calibrated.with_oos_threshold(oos_threshold)

    cal_dev_p, _ = calibrated.probabilities(embed(dev.texts))
    gate_labels = list(dev.labels) + list(negatives.labels)
    gate_conf = np.concatenate([cal_dev_p.max(axis=1), neg_p.max(axis=1)])
    gate_pred_all = list(dev_pred) + [clf.labels[i] for i in neg_p.argmax(axis=1)]
    gate_sim = np.concatenate([dev_sim, neg_sim])
    gate_person = [asks_for_person(t) is not None for t in dev.texts + negatives.texts]
    gate_pred = [None if (s < oos_threshold or asked) else p
                 for p, s, asked in zip(gate_pred_all, gate_sim, gate_person, strict=True)]
    gates = choose_gates(gate_labels, gate_pred, gate_conf, target=args.target, min_support=args.min_support,
                         categories=clf.labels, disabled=args.human_intents)
    setting = gates_setting(gates)

    # --- test: reported once ---
    raw_p, test_sim = clf.probabilities(embed(test.texts))
    cal_p = apply_temperature(raw_p, temperature)  # the transform the calibrated classifier applies
    test_pred = [clf.labels[i] for i in raw_p.argmax(axis=1)]
    correct = np.array([p == t for p, t in zip(test_pred, test.labels, strict=True)])
    known = np.array([lbl in index for lbl in test.labels])
    person = np.array([asks_for_person(t) is not None for t in test.texts])
    auto = _auto_mask(test_pred, cal_p.max(axis=1), test_sim < oos_threshold, person, setting)
    iso = IsotonicCalibrator.fit(cal_dev_p.max(axis=1)[dev_known], (dev_pred == np.array(dev.labels))[dev_known])

    human = np.array([lbl in args.human_intents for lbl in test.labels])
    ood_p, ood_sim = calibrated.probabilities(embed(ood_test.texts))
    ood_pred = [clf.labels[i] for i in ood_p.argmax(axis=1)]
    ood_person = np.array([asks_for_person(t) is not None for t in ood_test.texts])
    ood_auto = _auto_mask(ood_pred, ood_p.max(axis=1), ood_sim < oos_threshold, ood_person, setting)
    n_oos = len(clinc["oos_val"])

    n_auto = int(auto.sum())
    return {
        "auto_rate": round(n_auto / len(test), 4),
        "auto_precision": round(float(correct[auto].mean()), 4) if n_auto else None,
        "wrong_auto_answers": int((auto & ~correct).sum()),
        "ece_before": round(expected_calibration_error(raw_p.max(axis=1)[known], correct[known]), 4),
        "ece_after": round(expected_calibration_error(cal_p.max(axis=1)[known], correct[known]), 4),
        "ece_after_isotonic": round(expected_calibration_error(iso(cal_p.max(axis=1)[known]), correct[known]), 4),
        **human_request_sets(args.human_blind, args.human_dev),
        # The detector's patterns were extended after reading misses on all of Bitext contact_human_agent:
        # on this test split that is a development number too.
        "human_request_recall_bitext": round(float(person[human].mean()), 4) if human.any() else None,
        "human_request_bitext_n": int(human.sum()),
        "human_request_fired_other_intents": int((person & ~human).sum()),
        "oos_auto_answered": int(ood_auto[:n_oos].sum()),
        "n_oos": n_oos,
        "clinc_inscope_auto_answered": int(ood_auto[n_oos:].sum()),
        "n_clinc_inscope": len(ood_test) - n_oos,
        "n_test": len(test),
        "n_train": len(fit_part),
        "n_dev": len(dev),
        "n_dev_negatives": len(negatives),
        "leaked_removed": removed + removed_more + removed_neg,
        "accuracy": round(float(correct.mean()), 4),
        "temperature": temperature,
        "oos_threshold": round(oos_threshold, 4),
        "target": args.target,
        "gates_enabled": sum(1 for g in gates.values() if g.threshold is not None),
        "gates_disabled": sorted(name for name, g in gates.items() if g.threshold is None),
        "gates": {name: g.as_dict() for name, g in gates.items()} if args.show_gates else None,
        "seed": args.seed,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default=str(BITEXT), help="CSV: instruction,intent (Bitext) or text,category")
    parser.add_argument("--test", help="CSV in the same formats; default: a stratified slice of --train")
    parser.add_argument("--test-frac", type=float, default=0.2, help="test share carved from --train without --test")
    parser.add_argument("--dev-frac", type=float, default=0.2, help="dev share carved from the training part")
    parser.add_argument("--clinc-json", default=str(CLINC), help="CLINC150 data_full (train/val/oos_train/oos_val)")
    parser.add_argument("--clinc-shots", type=int, default=10, help="CLINC train queries per intent as dev negatives")
    parser.add_argument("--human-intents", nargs="*", default=list(HUMAN_INTENTS))
    parser.add_argument("--human-blind", default=str(HUMAN_BLIND),
                        help="CSV text,label,language never seen while building the detector (human_request_recall)")
    parser.add_argument("--human-dev", default=str(HUMAN_DEV),
                        help="CSV text,language,asks_for_person the detector was developed on (..._recall_dev)")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET, help="per-category auto precision")
    parser.add_argument("--min-support", type=int, default=DEFAULT_MIN_SUPPORT)
    parser.add_argument("--max-in-scope-loss", type=float, default=0.01,
                        help="share of dev in-scope accuracy the out-of-scope cut-off may cost")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--embedding-cache", help="directory for reusable vectors (a temp dir, not the repo)")
    parser.add_argument("--show-gates", action="store_true", help="include every gate with its evidence")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    intent_bench._cache_dir = Path(args.embedding_cache) if args.embedding_cache else None
    get_embedder().embed(["warm up"])
    result = run(args)
    if not args.show_gates:
        result.pop("gates")
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:34s} {value}")


if __name__ == "__main__":
    main()
