"""Answers composed only of knowledge-base passages: the offline backend cannot invent a fact.

The composer picks the best passage (and a close second from another article when the question
spans two), quotes it with its heading, and numbers the citation so the channel formatter's source
list lines up with the text. It never adds a claim of its own beyond a fixed lead-in sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from agent_graph.injection import strip_instruction_lines
from store.models import Source

MAX_PASSAGE_CHARS = 900
SECOND_PASSAGE_MARGIN = 0.04  # a second article is quoted only when almost as relevant as the first


@dataclass(frozen=True, slots=True)
class Passage:
    source: Source
    heading: str
    text: str
    cosine: float
    article_id: int
    language: str = "en"


LEAD_INS = {
    "en": "Here is what our help center says:",
    "de": "Das steht dazu in unserem Hilfe-Center:",
    "fr": "Voici ce que dit notre centre d'aide :",
    "es": "Esto es lo que dice nuestro centro de ayuda:",
}


def _trim(text: str, limit: int = MAX_PASSAGE_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for sep in ("\n\n", "\n", ". "):
        pos = cut.rfind(sep)
        if pos > limit // 2:
            return cut[: pos + (1 if sep == ". " else 0)].rstrip()
    return cut.rsplit(" ", 1)[0] + "…"


def _clean(text: str) -> str:
    text = strip_instruction_lines(text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return _trim(text.strip())


def choose(passages: Sequence[Passage]) -> list[Passage]:
    """The passages worth quoting: the best one, plus a near-tie from a different article."""
    usable = [p for p in passages if _clean(p.text)]
    if not usable:
        return []
    best = usable[0]
    chosen = [best]
    for p in usable[1:]:
        if p.article_id != best.article_id and p.cosine >= best.cosine - SECOND_PASSAGE_MARGIN:
            chosen.append(p)
            break
    return chosen


def parts(passages: Sequence[Passage], language: str = "en") -> Iterator[tuple[str, Source | None]]:
    """The answer as (text, source it quotes) pieces: streamable passage by passage."""
    chosen = choose(passages)
    if not chosen:
        return
    yield LEAD_INS.get(language, LEAD_INS["en"]) + "\n\n", None
    for n, p in enumerate(chosen, start=1):
        heading = p.heading.strip()
        body = _clean(p.text)
        block = (f"{heading}\n" if heading and not body.startswith(heading) else "") + f"{body} [{n}]"
        yield block + ("\n\n" if n < len(chosen) else ""), p.source


def compose(passages: Sequence[Passage], language: str = "en") -> tuple[str, tuple[Source, ...]]:
    pieces = list(parts(passages, language))
    return "".join(t for t, _ in pieces).strip(), tuple(s for _, s in pieces if s is not None)
