"""Cut a long reply into parts that each fit a channel's limit, at the most natural boundary.

Chat bubbles and Slack sections have size limits, and a cut in mid-sentence reads like a bug. The
cut is made in the *source* text (so each part is still valid markdown) while the limit is checked
on the *rendered* part through ``measure``: escaping (``&`` → ``&amp;``) grows text and markup
shrinks it, so only the rendering knows whether a part fits. Limits count code points, so Arabic,
Hebrew and CJK text count one per character, as users and the channels' APIs see them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator

Measure = Callable[[str], int]

# Coarsest first. Each pattern matches a separator; the cut goes right after it.
_BOUNDARIES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs
    re.compile(r"\n"),  # lines (list items)
    re.compile(r"[.!?…][\"'”’»)\]]*\s+|[。！？؟۔][」』）”’»]*\s*"),  # sentences, incl. CJK/Arabic
    re.compile(r"[，、；：،؛]\s*|[,;:]\s+"),  # clauses: CJK text has no spaces to fall back on
    re.compile(r"\s+"),  # words
)


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Split ``text`` into stripped, non-empty parts with ``measure(part) <= limit`` each."""
    if limit < 8:
        raise ValueError("limit too small to make progress")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    return list(_split(text, limit, measure, 0))


def _split(text: str, limit: int, measure: Measure, level: int) -> Iterator[str]:
    if level == len(_BOUNDARIES):
        yield from _hard_cut(text, limit, measure)
        return
    pieces = _cut(text, _BOUNDARIES[level])
    if len(pieces) < 2:
        yield from _split(text, limit, measure, level + 1)
        return
    sizes: dict[str, int] = {}

    def size(piece: str) -> int:
        if piece not in sizes:
            sizes[piece] = measure(piece.strip())
        return sizes[piece]

    queue = deque(pieces)
    while queue:
        batch = [queue.popleft()]
        if size(batch[0]) > limit:
            yield from _split(batch[0].strip(), limit, measure, level + 1)
            continue
        # Pack greedily on the sum of the pieces' own sizes (one rendering per piece, not one per
        # attempt), then check the whole: a rendering is not always the sum of its parts.
        total = size(batch[0])
        while queue:
            gap = len(batch[-1]) - len(batch[-1].rstrip())
            if total + gap + size(queue[0]) > limit:
                break
            total += gap + size(queue[0])
            batch.append(queue.popleft())
        while len(batch) > 1 and measure("".join(batch).strip()) > limit:
            queue.appendleft(batch.pop())
        chunk = "".join(batch).strip()
        if chunk:
            yield chunk


def _cut(text: str, boundary: re.Pattern[str]) -> list[str]:
    """Pieces whose concatenation is ``text``; each keeps its trailing separator."""
    pieces: list[str] = []
    start = 0
    for match in boundary.finditer(text):
        if match.end() > start and match.end() < len(text):
            pieces.append(text[start : match.end()])
            start = match.end()
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def _hard_cut(text: str, limit: int, measure: Measure) -> Iterator[str]:
    """Last resort for a "word" longer than the limit (a URL, a run of CJK without punctuation)."""
    rest = text
    while rest:
        if measure(rest) <= limit:
            yield rest
            return
        low, high = 1, min(len(rest), 4 * limit)
        while low < high:  # the longest prefix that still fits
            middle = (low + high + 1) // 2
            if measure(rest[:middle]) <= limit:
                low = middle
            else:
                high = middle - 1
        cut = low
        while cut > 1 and (_continues_previous(rest[cut]) or rest[cut - 1] == "\u200d"):
            cut -= 1
        yield rest[:cut]
        rest = rest[cut:]


def _continues_previous(char: str) -> bool:
    """Combining marks, joiners and variation selectors belong to the character before them."""
    return (
        unicodedata.combining(char) > 0
        or unicodedata.category(char) in {"Mn", "Me", "Cf"}
        or "\ufe00" <= char <= "\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # emoji skin tones
    )
