"""The markdown subset a reply may use, and its three renderings: safe HTML, plain text, Slack mrkdwn.

The agent and human agents write one text; every channel needs it in its own dialect. Parsing it
once with a fixed, small rule set (bold, italics, code, links, lists, line breaks) rather than "full
markdown" keeps the renderings in step and keeps raw HTML, images, headings and tables out of what a
customer sees. Anything outside the subset stays literal text and is escaped like any other text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

LINK_SCHEMES = frozenset({"http", "https", "mailto"})

_HTML_TAGS = {"p", "br", "strong", "em", "code", "pre", "a", "ul", "ol", "li"}
_HTML_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
# Set on our own tags after sanitizing: RTL paragraphs lay out by their own first strong character,
# code stays left-to-right, and links leave the widget or mail client's frame.
_HTML_SET_ATTRIBUTES = {
    "p": {"dir": "auto"},
    "li": {"dir": "auto"},
    "pre": {"dir": "ltr"},
    "a": {"target": "_blank"},
}
LINK_REL = "noopener noreferrer nofollow"
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_UNSAFE_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f\"'<>\\`]")


def safe_url(url: str | None) -> str | None:
    """Return ``url`` if a customer can safely follow it, else ``None``.

    Source URLs come from KB rows and link targets from model output; neither is trusted, so only
    absolute http(s) and mailto survive, and anything that could break out of an attribute or a
    Slack ``<url|label>`` is refused rather than repaired.
    """
    if not url:
        return None
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in LINK_SCHEMES or _UNSAFE_URL_CHARS.search(url):
        return None
    if scheme.lower() in {"http", "https"} and not rest.startswith("//"):
        return None
    return url


def html_lang(language: str) -> str | None:
    """A ``lang`` attribute value, or ``None`` when the reply's language is not a plausible BCP 47 tag."""
    return language if _LANGUAGE_TAG.fullmatch(language) else None


def squash(text: str) -> str:
    """One line of text: titles, names and labels must not smuggle line breaks into a layout."""
    return " ".join(text.split())


def clip(text: str, limit: int) -> str:
    """Fit ``text`` into ``limit`` characters (code points), marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _valid_link(url: str) -> bool:
    scheme, sep, _ = url.partition(":")
    return bool(sep) and scheme.strip().lower() in LINK_SCHEMES


def _build_parser() -> MarkdownIt:
    parser = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": True})
    parser.enable(
        [
            "list",
            "fence",
            "emphasis",
            "backticks",
            "link",
            "autolink",
            "linkify",
            "escape",
            "entity",
            "newline",
        ]
    )
    # Only explicit schemes become links; "README.md" or "v1.2" must not turn into a link.
    parser.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
    parser.validateLink = _valid_link  # type: ignore[method-assign]
    return parser


_PARSER = _build_parser()


def to_html(text: str) -> str:
    """Render to an HTML fragment that contains only our own tags, attributes and URL schemes.

    markdown-it already escapes text and drops raw HTML; nh3 is the second lock, so a parser bug or
    a rule enabled later cannot put a script or an event handler in front of a customer.
    """
    return nh3.clean(
        _PARSER.render(text),
        tags=_HTML_TAGS,
        attributes=_HTML_ATTRIBUTES,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        set_tag_attribute_values=_HTML_SET_ATTRIBUTES,
    ).strip()


def escape_html(text: str) -> str:
    """Escape text (quotes too) for element content and attribute values we write ourselves."""
    return html.escape(text, quote=True)


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters; everything else (``*``, ``_``) Slack cannot escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str) -> str:
    """A URL fit for Slack's ``<url|label>``: ``|`` and angle brackets would end the link early."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def slack_link(url: str, label: str) -> str:
    """``<url|label>`` from a plain-text label, or ``<url>`` when the label is the URL itself."""
    label = squash(label)
    if not label or label == url:
        return f"<{slack_url(url)}>"
    return f"<{slack_url(url)}|{slack_label(label)}>"


def slack_label(label: str) -> str:
    """Escape a link label; a ``|`` inside it would be read as a second separator by some clients."""
    return escape_mrkdwn(label).replace("|", "¦")


@dataclass(frozen=True, slots=True)
class _TextDialect:
    """How one plain-ish output spells the subset; HTML goes through the parser's own renderer."""

    escape: Callable[[str], str]
    strong: str
    em: str
    code: str
    fence: str
    bullet: str
    link: Callable[[str, str, bool], str]  # (href, rendered label, label is the URL) -> text


def _plain_link(href: str, label: str, bare_url: bool) -> str:
    if bare_url or not label:
        return label or href
    # Show the URL as written (Unicode host and path), not the percent-encoded href.
    return f"{label} ({_PARSER.normalizeLinkText(href).removeprefix('mailto:')})"


def _mrkdwn_link(href: str, label: str, bare_url: bool) -> str:
    if not label or label == escape_mrkdwn(href):
        return f"<{slack_url(href)}>"
    return f"<{slack_url(href)}|{label.replace('|', '¦')}>"


_PLAIN = _TextDialect(escape=lambda s: s, strong="", em="", code="", fence="", bullet="-", link=_plain_link)
_MRKDWN = _TextDialect(
    escape=escape_mrkdwn, strong="*", em="_", code="`", fence="```", bullet="•", link=_mrkdwn_link
)


def to_plain(text: str) -> str:
    """Render to readable plain text: markers dropped, links as "label (url)", lists with dashes."""
    return _render_text(_PARSER.parse(text), _PLAIN)


def to_mrkdwn(text: str) -> str:
    """Render to Slack mrkdwn with ``&``, ``<`` and ``>`` escaped in every piece of written text."""
    return _render_text(_PARSER.parse(text), _MRKDWN)


def _render_inline(children: Sequence[Token], dialect: _TextDialect) -> str:
    out: list[str] = []
    links: list[tuple[str, bool, int]] = []  # (href, written as a bare URL, where the label starts)
    for token in children:
        kind = token.type
        if kind == "text":
            out.append(dialect.escape(token.content))
        elif kind in {"softbreak", "hardbreak"}:
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"{dialect.code}{dialect.escape(token.content)}{dialect.code}")
        elif kind in {"strong_open", "strong_close"}:
            out.append(dialect.strong)
        elif kind in {"em_open", "em_close"}:
            out.append(dialect.em)
        elif kind == "link_open":
            bare_url = token.markup in {"autolink", "linkify"}
            links.append((str(token.attrs.get("href", "")), bare_url, len(out)))
        elif kind == "link_close" and links:
            href, bare_url, start = links.pop()
            label = "".join(out[start:])
            del out[start:]
            out.append(dialect.link(href, label, bare_url))
    return "".join(out)


def _render_text(tokens: Sequence[Token], dialect: _TextDialect) -> str:
    """Walk the block tokens: blocks are separated by a blank line, items of one list by a line break."""
    out: list[str] = []
    depth = 0  # open lists
    hangs: list[str] = []  # for each open item: the indent that lines text up under its first line
    item_prefix: str | None = None  # set at list_item_open, consumed by the item's first block
    previous_in_list = False

    def emit(body: str) -> None:
        nonlocal item_prefix, previous_in_list
        hang = hangs[-1] if hangs else ""
        lead = hang if item_prefix is None else item_prefix
        first, *rest = body.split("\n")
        out.append("\n" if depth and previous_in_list else "\n\n")
        out.append("\n".join([lead + first, *[hang + line if line else line for line in rest]]).rstrip())
        item_prefix = None
        previous_in_list = depth > 0

    for token in tokens:
        kind = token.type
        if kind in {"bullet_list_open", "ordered_list_open"}:
            previous_in_list = previous_in_list and depth > 0  # a new top-level list starts a block
            depth += 1
        elif kind in {"bullet_list_close", "ordered_list_close"}:
            depth -= 1
        elif kind == "list_item_open":
            marker = f"{token.info}." if token.info else dialect.bullet
            item_prefix = "    " * (depth - 1) + f"{marker} "
            hangs.append(" " * len(item_prefix))
        elif kind == "list_item_close":
            if item_prefix is not None:
                emit("")  # an empty item still shows its marker
            hangs.pop()
        elif kind == "inline":
            emit(_render_inline(token.children or [], dialect))
        elif kind == "fence":
            code = dialect.escape(token.content.rstrip("\n"))
            emit(f"{dialect.fence}\n{code}\n{dialect.fence}" if dialect.fence else code)
    return "".join(out).strip("\n")
