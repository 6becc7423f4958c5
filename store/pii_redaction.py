"""Removes a customer's personal data from text that outlives their conversation.

A resolved conversation becomes a retrieval source other cases are answered with; whatever it keeps
can be shown (and copied) while helping a different customer. So it keeps what was asked and what
solved it, not who asked: email addresses, phone-like numbers (7+ digits: phones, account and card
numbers) and the customer's own names and identity values are replaced by placeholders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Digits with common separators; counted below so "2024-11-23" (8 digits) is left alone only if short.
NUMBER_RUN = re.compile(r"(?<![\w/])\+?\d[\d ().\-]{5,}\d(?![\w/])")
MIN_NAME_PART = 3  # "Al" or "Jo" would blank out ordinary words
MAX_KNOWN = 50


def _long_number(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[number]" if digits >= 7 else match.group(0)


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` without email addresses, long digit runs and any of ``known`` (names, identity values)."""
    out = EMAIL.sub("[email]", text)
    out = NUMBER_RUN.sub(_long_number, out)
    parts: set[str] = set()
    for value in list(known)[:MAX_KNOWN]:
        value = value.strip()
        if not value or "@" in value:
            continue  # addresses are gone already
        parts.add(value)
        parts.update(p for p in re.split(r"[\s,._:-]+", value) if len(p) >= MIN_NAME_PART)
    for part in sorted(parts, key=len, reverse=True):
        out = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", "[name]", out, flags=re.IGNORECASE)
    return out
