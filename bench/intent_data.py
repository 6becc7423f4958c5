"""Readers for the intent benchmarks' file formats, and their splits.

Datasets stay outside the repository (licences, size); benches take paths. The overlap guard itself
is :mod:`bench.leakage` (every bench applies it the same way); ``text_hash`` is re-exported here for
the benches that group duplicates by it.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.leakage import remove_leaked, text_hash

__all__ = ["Examples", "read_clinc", "read_csv", "remove_overlap", "sample_shots", "stratified_split",
           "text_hash", "write_csv"]


@dataclass(frozen=True)
class Examples:
    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def read_csv(path: str | Path) -> Examples:
    """BANKING77 layout: a header row with ``text,category``."""
    texts: list[str] = []
    labels: list[str] = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts.append(row["text"])
            labels.append(row["category"])
    return Examples(texts, labels)


def write_csv(path: str | Path, examples: Examples) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "category"])
        writer.writerows(zip(examples.texts, examples.labels, strict=True))


def read_clinc(path: str | Path) -> dict[str, Examples]:
    """CLINC150 ``data_full`` keys (train, val, oos_train, oos_val, ...) as Examples; oos label ``"oos"``."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return {key: Examples([t for t, _ in items], [lbl for _, lbl in items]) for key, items in raw.items()}


def remove_overlap(train: Examples, test: Examples) -> tuple[Examples, int]:
    """Drop training rows whose text also occurs in the test set (bench.leakage); returns the count too."""
    kept, removed = remove_leaked(list(zip(train.texts, train.labels, strict=True)), test.texts, lambda r: r[0])
    return Examples([t for t, _ in kept], [lbl for _, lbl in kept]), removed


def sample_shots(examples: Examples, shots: int, seed: int) -> Examples:
    """``shots`` random examples per label (all of a label if it has fewer), reproducible by seed."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(examples.labels):
        by_label[label].append(i)
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for label in sorted(by_label):
        idx = by_label[label]
        take = min(shots, len(idx))
        chosen.extend(int(i) for i in rng.choice(idx, size=take, replace=False))
    chosen.sort()
    return Examples([examples.texts[i] for i in chosen], [examples.labels[i] for i in chosen])


def stratified_split(examples: Examples, frac: float, seed: int) -> tuple[Examples, Examples]:
    """Split each label ``1-frac`` / ``frac`` so small intents keep examples on both sides.

    Exact duplicate texts are kept on one side only (grouped by hash) so the split never leaks.
    """
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (text, label) in enumerate(zip(examples.texts, examples.labels, strict=True)):
        groups[label][text_hash(text)].append(i)
    rng = np.random.default_rng(seed)
    rest: list[int] = []
    held: list[int] = []
    for label in sorted(groups):
        buckets = list(groups[label].values())
        order = rng.permutation(len(buckets))
        n_rows = sum(len(b) for b in buckets)
        target = max(1, round(frac * n_rows))
        taken = 0
        for j in order:
            bucket = buckets[int(j)]
            if taken < target:
                held.extend(bucket)
                taken += len(bucket)
            else:
                rest.extend(bucket)
    rest.sort()
    held.sort()

    def pick(idx: list[int]) -> Examples:
        return Examples([examples.texts[i] for i in idx], [examples.labels[i] for i in idx])

    return pick(rest), pick(held)
