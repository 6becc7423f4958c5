"""Email payload: a subject carrying the conversation tag and a text + HTML body pair.

Email is the one channel that shows nothing but what we send, so the reply quotes the message it
answers, lists its sources as plain links and turns actions into links the customer can click from
any mail client. Headers (From, In-Reply-To, Message-ID) are the email channel's job; the subject
is not, because the ``[#id]`` tag in it is how a reply finds its conversation when headers are lost.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from formatters.actions import action_url
from formatters.markup import LINK_REL, clip, escape_html, html_lang, safe_url, squash, to_html, to_plain
from store.models import RenderContext, Reply

SUBJECT_LIMIT = 200  # characters of the customer's subject kept before the tag
_REPLY_PREFIXES = re.compile(r"^(?:(?:re|aw|sv|antw|vs|ynt)\s*:\s*)+", re.IGNORECASE)
_QUOTE_STYLE = "margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex"


def render(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """``{"kind", "subject", "text", "html", "language"}``: ``text``/``html`` are the two MIME parts."""
    return {
        "kind": reply.kind.value,
        "subject": subject(ctx),
        "text": _text_body(reply, ctx),
        "html": _html_body(reply, ctx),
        "language": reply.language,
    }


def subject(ctx: RenderContext) -> str:
    """``Re: {subject} [#{id}]``, without stacking ``Re:`` or tags when the customer replies again."""
    tag = f"[#{ctx.conversation_id}]"
    base = _REPLY_PREFIXES.sub("", squash((ctx.subject or "").replace(tag, "")))
    if not base:
        return f"{_team(ctx)} {tag}"
    return f"Re: {clip(base, SUBJECT_LIMIT)} {tag}"


def _greeting(ctx: RenderContext) -> str:
    name = squash(ctx.customer_name or "")
    return ctx.gettext("Hi {name},").format(name=name) if name else ctx.gettext("Hello,")


def _team(ctx: RenderContext) -> str:
    return f"{squash(ctx.tenant_name)} Support".lstrip()


def _sign_off(ctx: RenderContext) -> str:
    return f"— {_team(ctx)}"


def _quote_intro(ctx: RenderContext) -> str:
    """A fixed, locale-free date: ``strftime`` names of days and months follow the server locale."""
    when = ctx.quoted_at
    if when is None:
        return ctx.gettext("You wrote:")
    when = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return ctx.gettext("On {when} UTC, you wrote:").format(when=f"{when:%Y-%m-%d %H:%M}")


def _quoted_lines(ctx: RenderContext) -> list[str]:
    text = (ctx.quoted_text or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    return text.split("\n") if text.strip() else []


def _links(reply: Reply, ctx: RenderContext) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
    """(source title, url or None) and (action label, url) pairs, numbered by position."""
    sources = [(squash(source.title) or source.id, safe_url(source.url)) for source in reply.sources]
    actions = [
        (squash(action.label) or action.id, url)
        for action in reply.actions
        if (url := action_url(ctx, action))
    ]
    return sources, actions


def _text_body(reply: Reply, ctx: RenderContext) -> str:
    sources, actions = _links(reply, ctx)
    sections = [_greeting(ctx), to_plain(reply.text)]
    if sources:
        lines = [f"[{n}] {title}" + (f": {url}" if url else "") for n, (title, url) in enumerate(sources, 1)]
        sections.append("\n".join([ctx.gettext("Sources:"), *lines]))
    if actions:
        sections.append("\n".join(f"{label}: {url}" for label, url in actions))
    sections.append(_sign_off(ctx))
    quoted = _quoted_lines(ctx)
    if quoted:
        sections.append("\n".join([_quote_intro(ctx), *(f"> {line}".rstrip() for line in quoted)]))
    return "\n\n".join(section for section in sections if section) + "\n"


def _html_body(reply: Reply, ctx: RenderContext) -> str:
    sources, actions = _links(reply, ctx)
    parts = [f'<p dir="auto">{escape_html(_greeting(ctx))}</p>', to_html(reply.text)]
    if sources:
        items = "".join(f'<li dir="auto">{_html_link(title, url)}</li>' for title, url in sources)
        parts.append(f'<p dir="auto">{escape_html(ctx.gettext("Sources:"))}</p>\n<ol>{items}</ol>')
    if actions:
        links = " · ".join(_html_link(label, url) for label, url in actions)
        parts.append(f'<p dir="auto">{links}</p>')
    parts.append(f'<p dir="auto">{escape_html(_sign_off(ctx))}</p>')
    quoted = _quoted_lines(ctx)
    if quoted:
        lines = "<br>\n".join(escape_html(line) for line in quoted)
        parts.append(
            f'<p dir="auto">{escape_html(_quote_intro(ctx))}</p>\n'
            f'<blockquote dir="auto" style="{_QUOTE_STYLE}">{lines}</blockquote>'
        )
    lang = html_lang(reply.language)
    lang_attr = f' lang="{lang}"' if lang else ""
    body = "\n".join(part for part in parts if part)
    return (
        f"<!DOCTYPE html>\n<html{lang_attr}>\n<head>\n"
        '<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape_html(subject(ctx))}</title>\n</head>\n"
        f'<body>\n<div dir="auto">\n{body}\n</div>\n</body>\n</html>\n'
    )


def _html_link(label: str, url: str | None) -> str:
    if url is None:
        return escape_html(label)
    return f'<a href="{escape_html(url)}" target="_blank" rel="{LINK_REL}">{escape_html(label)}</a>'
