"""Reading the shared BANKING77 training file for tests (never copied into the repo)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pytest

BANKING77 = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "banking77" / "train.csv"


def utterances_by_intent(intents: Iterable[str], path: Path = BANKING77) -> dict[str, list[str]]:
    """The utterances of ``intents``, in file order; skips the test when the shared data is absent."""
    if not path.exists():
        pytest.skip(f"BANKING77 not found at {path} (shared datasets are not in the repo)")
    wanted = set(intents)
    by_intent: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["category"] in wanted:
                by_intent[row["category"]].append(row["text"])
    return by_intent
