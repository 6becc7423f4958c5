"""Gap-clustering benchmark for :mod:`agent_graph.gaps`: do questions with one need land in one topic?

Samples K intents × N utterances from a ``text,category`` CSV (BANKING77 by default), embeds them,
clusters WITHOUT being told K, and reports the adjusted Rand index against the true intents.

The distance threshold is not tuned on the reported sample: it is chosen on a calibration sample of
other intents (disjoint from the reported ones whenever the file has enough intents) drawn with
another seed, exactly as the product must pick it once for tenants whose topics nobody labelled.
The shipped default (``DEFAULT_DISTANCE_THRESHOLD``) is reported next to it.

    python -m bench.gaps --json
    python -m bench.gaps --input /work/shared/datasets/banking77/train.csv --n-intents 10 --per-intent 20 --seed 0 --json
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from agent_graph.embedder import get_embedder
from agent_graph.gaps import DEFAULT_DISTANCE_THRESHOLD, choose_threshold, cluster
from bench.intent_data import Examples, read_csv
from bench.leakage import remove_leaked, text_hash

DEFAULT_INPUT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "banking77" / "train.csv"


def sample(examples: Examples, n_intents: int, per_intent: int, seed: int,
           exclude_intents: frozenset[str] = frozenset()) -> Examples:
    """K intents (with at least N distinct utterances) × N utterances, reproducible by seed."""
    by_label: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for text, label in zip(examples.texts, examples.labels, strict=True):
        h = text_hash(text)
        if h not in seen:
            seen.add(h)
            by_label[label].append(text)
    eligible = sorted(lbl for lbl, texts in by_label.items() if len(texts) >= per_intent)
    preferred = [lbl for lbl in eligible if lbl not in exclude_intents]
    pool = preferred if len(preferred) >= n_intents else eligible
    if len(pool) < n_intents:
        raise SystemExit(f"only {len(pool)} intents have {per_intent} utterances; asked for {n_intents}")
    rng = np.random.default_rng(seed)
    intents = sorted(rng.choice(pool, size=n_intents, replace=False).tolist())
    texts: list[str] = []
    labels: list[str] = []
    for intent in intents:
        chosen = rng.choice(len(by_label[intent]), size=per_intent, replace=False)
        texts += [by_label[intent][int(i)] for i in chosen]
        labels += [intent] * per_intent
    return Examples(texts, labels)


def run(path: Path, n_intents: int, per_intent: int, seed: int) -> dict[str, Any]:
    from sklearn.metrics import adjusted_rand_score

    data = read_csv(path)
    reported = sample(data, n_intents, per_intent, seed)
    # The threshold must not be tuned on any copy of a reported text (bench.leakage); the reported rows
    # themselves are in the file too, so only the extra copies count as leaks.
    rows, removed = remove_leaked(list(zip(data.texts, data.labels, strict=True)), reported.texts, lambda r: r[0])
    leaked = removed - len(reported)  # reported texts are distinct by hash (``sample`` dedupes)
    calibration = sample(Examples([t for t, _ in rows], [lbl for _, lbl in rows]), n_intents, per_intent, seed + 1000,
                         exclude_intents=frozenset(reported.labels))
    model = get_embedder()
    started = time.perf_counter()
    cal_vectors = model.embed(calibration.texts)
    vectors = model.embed(reported.texts)
    embed_s = time.perf_counter() - started
    threshold, cal_ari = choose_threshold(cal_vectors, calibration.labels)
    started = time.perf_counter()
    result = cluster(vectors, distance_threshold=threshold)
    cluster_s = time.perf_counter() - started
    default = cluster(vectors)
    return {
        "ari": round(float(adjusted_rand_score(reported.labels, result.labels)), 4),
        "n_clusters": result.n_clusters,
        "n_true": n_intents,
        "n_items": len(reported),
        "threshold": threshold,
        "calibration": {"seed": seed + 1000, "ari": round(cal_ari, 4),
                        "shared_intents": len(set(calibration.labels) & set(reported.labels))},
        "default_threshold": {"threshold": DEFAULT_DISTANCE_THRESHOLD,
                              "ari": round(float(adjusted_rand_score(reported.labels, default.labels)), 4),
                              "n_clusters": default.n_clusters},
        "leaked_removed": leaked,
        "seed": seed,
        "input": str(path),
        "model": model.model_id,
        "seconds": {"embed": round(embed_s, 2), "cluster": round(cluster_s, 3)},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gaps", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", type=Path, default=DEFAULT_INPUT, help="CSV with text,category (BANKING77 train)")
    p.add_argument("--n-intents", type=int, default=10)
    p.add_argument("--per-intent", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not args.input.exists():
        p.error(f"{args.input} not found (shared datasets are not in the repo)")
    report = run(args.input, args.n_intents, args.per_intent, args.seed)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"ARI {report['ari']} — {report['n_clusters']} clusters for {report['n_true']} intents,"
              f" {report['n_items']} utterances (threshold {report['threshold']}, calibrated on other intents)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
