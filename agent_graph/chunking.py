"""Markdown and HTML articles → titled sections → overlapping chunks.

Support articles are written as a title and a few headed sections, each answering one question
("The reset email does not arrive"), so a heading is the natural chunk boundary: a chunk then
matches one customer question and quotes cleanly. Each chunk also repeats the tail (~15 %) of the
previous one, so a question that straddles two sections still finds both halves; ``overlap_chars``
marks that prefix so answers never quote it twice. Sections longer than ``max_chars`` are split into
overlapping windows at paragraph boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

OVERLAP = 0.15
MAX_CHARS = 1400
MIN_CHARS = 200  # a shorter intro is merged into the first section
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    title: str
    body: str  # markdown-ish text without front matter
    url: str | None
    language: str


@dataclass(frozen=True, slots=True)
class Chunk:
    heading: str
    text: str  # includes the overlap prefix
    overlap_chars: int


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        return {}, text
    meta = {}
    for line in text[4:end].splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip().lower()] = value.strip().strip('"').strip("'")
    return meta, text[end + 4:].lstrip("\n")


class _HtmlToMarkdown(HTMLParser):
    """Just enough HTML → Markdown for help-center exports: headings, paragraphs, list items."""

    BLOCKS = frozenset({"p", "div", "section", "article", "br", "tr", "table", "ul", "ol", "pre", "blockquote"})
    SKIP = frozenset({"script", "style", "nav", "footer", "header", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title: str | None = None
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self.title = (self.title or "") + data.strip()
            return
        self.out.append(re.sub(r"\s+", " ", data))


def html_to_markdown(html: str) -> tuple[str | None, str]:
    parser = _HtmlToMarkdown()
    parser.feed(html)
    text = "".join(parser.out)
    text = "\n".join(line.strip() for line in text.splitlines())
    return parser.title, re.sub(r"\n{3,}", "\n\n", text).strip()


def parse(text: str, *, filename: str, is_html: bool) -> ParsedArticle:
    meta, body = _front_matter(text)
    html_title = None
    if is_html:
        html_title, body = html_to_markdown(body)
    title = meta.get("title") or html_title
    if not title:
        first = next((HEADING.match(line) for line in body.splitlines() if HEADING.match(line)), None)
        title = first.group(2) if first else filename.rsplit(".", 1)[0].replace("-", " ").replace("_", " ").capitalize()
    # Front matter wins; otherwise the text says its language (what the KB covers decides what the AI may answer).
    language = (meta.get("language") or "").strip().lower()[:8] or language_of(f"{title}\n{body}")
    return ParsedArticle(title=title, body=body.strip(), url=meta.get("url"), language=language)


def language_of(text: str) -> str:
    from agent_graph.language import detect

    return detect(text).code


def sections(article: ParsedArticle) -> list[tuple[str, str]]:
    """(heading, text) per heading; the text before the first sub-heading is headed by the title."""
    out: list[tuple[str, list[str]]] = [(article.title, [])]
    for line in article.body.splitlines():
        m = HEADING.match(line)
        if m:
            heading = m.group(2).strip()
            if len(m.group(1)) == 1 and heading == article.title and not any(x.strip() for x in out[-1][1]):
                continue  # the H1 repeating the title
            out.append((heading, []))
        else:
            out[-1][1].append(line)
    result = []
    for heading, lines in out:
        text = "\n".join(lines).strip()
        if text:
            result.append((heading, text))
    return result


def _windows(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    windows: list[str] = []
    current: list[str] = []
    for p in paragraphs:
        if current and len("\n\n".join([*current, p])) > max_chars:
            windows.append("\n\n".join(current))
            current = []
        current.append(p)
    if current:
        windows.append("\n\n".join(current))
    return windows


def _tail(text: str, share: float) -> str:
    """The last ~``share`` of ``text``, starting at a sentence or line boundary."""
    want = max(1, int(len(text) * share))
    tail = text[-want:]
    for sep in ("\n", ". "):
        pos = tail.find(sep)
        if 0 <= pos < len(tail) - 1:
            return tail[pos + len(sep):].strip()
    return tail.split(" ", 1)[-1].strip()


def merge_intro(parts: list[tuple[str, str]], title: str, min_chars: int = MIN_CHARS) -> list[tuple[str, str]]:
    """A one-line intro under the title answers nothing; quoted with the section after it, it reads well.

    Only the intro is merged: a short section of its own ("Where we ship") is a precise answer, and
    diluting it with its neighbour would make it harder to find.
    """
    if len(parts) >= 2 and parts[0][0] == title and len(parts[0][1]) < min_chars:
        (_, intro), (heading, text) = parts[0], parts[1]
        return [(title, f"{intro}\n\n{heading}\n{text}"), *parts[2:]]
    return parts


def chunk(article: ParsedArticle, *, overlap: float = OVERLAP, max_chars: int = MAX_CHARS) -> list[Chunk]:
    pieces: list[tuple[str, str]] = []
    for heading, text in merge_intro(sections(article), article.title):
        pieces.extend((heading, w) for w in _windows(text, max_chars))
    chunks: list[Chunk] = []
    previous = ""
    for heading, text in pieces:
        prefix = _tail(previous, overlap) if previous and overlap > 0 else ""
        body = f"{prefix}\n{text}" if prefix else text
        chunks.append(Chunk(heading, body, len(prefix) + 1 if prefix else 0))
        previous = text
    return chunks
