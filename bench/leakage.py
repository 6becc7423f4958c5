"""The one leakage guard every benchmark runs: no test text may occur in what the system learned from.

A test text "occurs" when its normalised form (lower case, runs of whitespace collapsed) has the same
sha256 as a training row, or as a whole line or sentence of a knowledge-base document the bench
builds, split at sentence ends and colons (a KB that quotes the test question verbatim would make
retrieval trivially right). Matching rows are removed before anything is trained or imported, and
every bench reports how many it removed as ``leaked_removed`` in its JSON, so a number that changes
between runs is visible.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")  # "Q: question?" quotes the question too


def text_hash(text: str) -> str:
    """Hash of the text as a customer would type it modulo case and spacing, so trivial copies count."""
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def hashes(texts: Iterable[str]) -> set[str]:
    return {text_hash(t) for t in texts}


def pieces(document: str) -> list[str]:
    """The document itself, each non-empty line, and each sentence of each line."""
    lines = [line.strip(" \t#>*-") for line in document.splitlines()]
    out = [document, *(line for line in lines if line)]
    out += [s for line in lines for s in _SENTENCE_END.split(line) if s and s != line]
    return out


def remove_leaked(items: Sequence[T], test_texts: Iterable[str], text: Callable[[T], str] = str, *,
                  documents: bool = False) -> tuple[list[T], int]:
    """``items`` without those whose text (or, for ``documents``, any line or sentence) is a test text.

    Returns the kept items, in order, and how many were removed.
    """
    test = hashes(test_texts)

    def leaked(item: T) -> bool:
        body = text(item)
        return any(text_hash(p) in test for p in (pieces(body) if documents else (body,)))

    kept = [item for item in items if not leaked(item)]
    return kept, len(items) - len(kept)
