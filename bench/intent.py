"""Intent classification benchmark for :mod:`agent_graph.classifier`.

Measures what a tenant would see: accuracy with all or N examples per intent, and the latency of
classifying one message at a time (the agent graph never sees a batch of one customer's messages).
Every run first removes training rows whose text also occurs in the evaluation set and reports how
many, because a leaked duplicate silently inflates accuracy.

    python -m bench.intent --train /tmp/b77/train.csv --test /tmp/b77/dev.csv --shots 10 --json
    python -m bench.intent --dataset clinc150 \
        --clinc-json /work/shared/datasets/clinc150/data_full_train_val.json --json

``--c 1 --knn-weight 0`` reproduces the plain "embeddings + logistic regression" baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from agent_graph.classifier import HeadConfig, IntentClassifier
from agent_graph.embedder import get_embedder
from bench.intent_data import Examples, read_clinc, read_csv, remove_overlap, sample_shots, stratified_split

_cache_dir: Path | None = None


def embed(texts: Sequence[str]) -> np.ndarray:
    """Embed with the process model, reusing vectors from ``--embedding-cache`` when given.

    Comparing heads re-embeds the same 10k texts each run; on a shared 2-core box that is minutes.
    The cache key covers the model id and every text, so a stale file can never be picked up.
    """
    model = get_embedder()
    if _cache_dir is None:
        return model.embed(texts)
    digest = hashlib.sha256(model.model_id.encode())
    for text in texts:
        digest.update(text.encode("utf-8") + b"\0")
    path = _cache_dir / f"{digest.hexdigest()}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    vectors = model.embed(texts)
    _cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors, allow_pickle=False)
    return vectors


def _latency_ms(clf: IntentClassifier, texts: Sequence[str], n: int) -> tuple[float, float]:
    """p50/p99 of single-message predict (embed + head), after a warm-up."""
    for text in texts[:10]:
        clf.predict([text])
    samples: list[float] = []
    for text in list(texts)[:n]:
        start = time.perf_counter()
        clf.predict([text])
        samples.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def embed_subset(pool: Examples, subset: Sequence[str]) -> np.ndarray:
    """Vectors for ``subset`` (texts drawn from ``pool``); with a cache, embed the pool once for all seeds."""
    if _cache_dir is None:
        return embed(subset)
    lookup = dict(zip(pool.texts, embed(pool.texts), strict=True))
    return np.stack([lookup[t] for t in subset]) if subset else np.zeros((0, get_embedder().dim), np.float32)


def _select_shots(train: Examples, shots: str, seed: int) -> Examples:
    return train if shots == "all" else sample_shots(train, int(shots), seed)


def run_csv(args: argparse.Namespace, config: HeadConfig) -> dict[str, Any]:
    test = read_csv(args.test)
    pool, removed = remove_overlap(read_csv(args.train), test)
    train = _select_shots(pool, args.shots, args.seed)

    train_vectors = embed_subset(pool, train.texts)
    start = time.perf_counter()
    clf = IntentClassifier(config=config).fit_embeddings(train_vectors, train.labels)
    fit_s = time.perf_counter() - start
    probs, _ = clf.probabilities(embed(test.texts))
    predicted = [clf.labels[i] for i in probs.argmax(axis=1)]
    accuracy = float(np.mean([p == t for p, t in zip(predicted, test.labels, strict=True)]))
    p50, p99 = _latency_ms(clf, test.texts, args.latency_n)
    return {
        "accuracy": round(accuracy, 4),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "n_test": len(test),
        "n_train": len(train),
        "leaked_removed": removed,
        "shots": args.shots,
        "seed": args.seed,
        "fit_s": round(fit_s, 2),
        "head": asdict(config),
    }


def choose_threshold(
    in_score: np.ndarray,
    in_correct: np.ndarray,
    oos_score: np.ndarray,
    max_in_scope_loss: float | None = None,
) -> float:
    """Cut-off on the in-scope score maximising in-scope accuracy + out-of-scope recall on calibration data.

    An in-scope message under the cut-off counts as wrong (it would be routed away), which is how
    Larson et al. score their threshold baselines. With ``max_in_scope_loss`` the cut-off may cost at
    most that much in-scope accuracy (a support desk rather misses an out-of-scope query than
    deflects a real one).
    """
    candidates = np.unique(np.concatenate([in_score, oos_score, [-1.0]]))
    best_t, best_score = 0.0, -1.0
    floor = float(np.mean(in_correct)) - max_in_scope_loss if max_in_scope_loss is not None else -1.0
    for t in candidates:
        accuracy = float(np.mean(in_correct & (in_score >= t)))
        if accuracy < floor:
            continue
        score = accuracy + float(np.mean(oos_score < t))
        if score > best_score:
            best_t, best_score = float(t), score
    return best_t


def run_clinc(args: argparse.Namespace, config: HeadConfig) -> dict[str, Any]:
    data = read_clinc(args.clinc_json)
    val, oos_val = data["val"], data["oos_val"]
    held_out = Examples(val.texts + oos_val.texts, val.labels + oos_val.labels)
    pool, removed_in = remove_overlap(data["train"], held_out)
    oos_train, removed_oos = remove_overlap(data["oos_train"], held_out)
    train = _select_shots(pool, args.shots, args.seed)
    train_vectors = embed_subset(pool, train.texts)
    row = {text: i for i, text in enumerate(train.texts)}

    # The threshold is chosen on a slice of train + oos_train, never on val: val is what we report.
    fit_part, calib = stratified_split(train, args.calib_frac, args.seed)
    probe = IntentClassifier(config=config).fit_embeddings(
        train_vectors[[row[t] for t in fit_part.texts]], fit_part.labels
    )
    calib_p, calib_sim = probe.probabilities(train_vectors[[row[t] for t in calib.texts]])
    calib_pred = np.array([probe.labels[i] for i in calib_p.argmax(axis=1)])
    _, oos_sim = probe.probabilities(embed(oos_train.texts))
    calib_correct = calib_pred == np.array(calib.labels)
    threshold = choose_threshold(calib_sim, calib_correct, oos_sim)
    threshold_1pt = choose_threshold(calib_sim, calib_correct, oos_sim, max_in_scope_loss=0.01)

    start = time.perf_counter()
    clf = IntentClassifier(config=replace(config, oos_threshold=threshold)).fit_embeddings(
        train_vectors, train.labels
    )
    fit_s = time.perf_counter() - start
    val_p, val_sim = clf.probabilities(embed(val.texts))
    val_pred = np.array([clf.labels[i] for i in val_p.argmax(axis=1)])
    val_correct = val_pred == np.array(val.labels)
    _, oos_val_sim = clf.probabilities(embed(oos_val.texts))
    p50, p99 = _latency_ms(clf, val.texts, args.latency_n)
    return {
        "accuracy": round(float(np.mean(val_correct & (val_sim >= threshold))), 4),
        "accuracy_without_threshold": round(float(np.mean(val_correct)), 4),
        "oos_recall": round(float(np.mean(oos_val_sim < threshold)), 4),
        "oos_signal": "cosine to closest training example",
        "threshold": round(threshold, 4),
        "accuracy_1pt": round(float(np.mean(val_correct & (val_sim >= threshold_1pt))), 4),
        "oos_recall_1pt": round(float(np.mean(oos_val_sim < threshold_1pt)), 4),
        "threshold_1pt": round(threshold_1pt, 4),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "n_test": len(val),
        "n_test_oos": len(oos_val),
        "n_train": len(train),
        "n_calib": len(calib),
        "n_calib_oos": len(oos_train),
        "leaked_removed": removed_in + removed_oos,
        "shots": args.shots,
        "seed": args.seed,
        "fit_s": round(fit_s, 2),
        "eval_split": "val + oos_val",
        "head": asdict(config),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["csv", "banking77", "clinc150"], default="csv")
    parser.add_argument("--train", help="CSV text,category (csv/banking77 mode)")
    parser.add_argument("--test", help="CSV text,category to evaluate on (csv/banking77 mode)")
    parser.add_argument("--clinc-json", help="CLINC150 data_full json with train/val/oos_train/oos_val")
    parser.add_argument("--shots", default="all", help="examples per label, or 'all'")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--calib-frac", type=float, default=0.2, help="CLINC: share of train for the threshold"
    )
    parser.add_argument("--latency-n", type=int, default=200, help="messages timed one by one")
    parser.add_argument("--c", type=float, default=HeadConfig.c)
    parser.add_argument("--knn-weight", type=float, default=HeadConfig.knn_weight)
    parser.add_argument("--knn-temperature", type=float, default=HeadConfig.knn_temperature)
    parser.add_argument("--embedding-cache", help="directory for reusable vectors (a temp dir, not the repo)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.shots != "all" and not args.shots.isdigit():
        parser.error("--shots must be a number or 'all'")

    global _cache_dir
    _cache_dir = Path(args.embedding_cache) if args.embedding_cache else None
    config = HeadConfig(c=args.c, knn_weight=args.knn_weight, knn_temperature=args.knn_temperature)
    get_embedder().embed(["warm up"])  # keep the cold model load out of fit time
    if args.dataset == "clinc150":
        if not args.clinc_json:
            parser.error("--dataset clinc150 needs --clinc-json")
        result = run_clinc(args, config)
    else:
        if not (args.train and args.test):
            parser.error("--train and --test are required for CSV datasets")
        result = run_csv(args, config)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")


if __name__ == "__main__":
    main()
