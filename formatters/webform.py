"""Web form payload: an HTML fragment for our form page and the same reply as JSON for embeds.

The fragment is dropped into a page we serve, so it must be safe as it stands: the body is
sanitized markdown, every other value is escaped, and its class names are the page's styling hooks.
Actions are links when there is a public base URL (they work without JavaScript); otherwise they are
buttons carrying ``data-action-id`` for the page's script. The JSON form is for a host page that
draws the reply itself.
"""

from __future__ import annotations

from typing import Any

from formatters.actions import action_url
from formatters.markup import LINK_REL, escape_html, html_lang, safe_url, squash, to_html, to_plain
from store.models import RenderContext, Reply


def render(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """``{"html": fragment, "json": {"kind", "conversation_id", "text", "sources", "actions", "language"}}``."""
    sources = [
        {"n": n, "id": source.id, "title": squash(source.title) or source.id, "url": safe_url(source.url)}
        for n, source in enumerate(reply.sources, start=1)
    ]
    actions = [
        {"id": action.id, "label": squash(action.label) or action.id, "url": action_url(ctx, action)}
        for action in reply.actions
    ]
    return {
        "html": _fragment(reply, ctx, sources, actions),
        "json": {
            "kind": reply.kind.value,
            "conversation_id": ctx.conversation_id,
            "text": to_plain(reply.text),
            "sources": sources,
            "actions": actions,
            "language": reply.language,
        },
    }


def _fragment(
    reply: Reply, ctx: RenderContext, sources: list[dict[str, Any]], actions: list[dict[str, Any]]
) -> str:
    kind = escape_html(reply.kind.value)
    lang = html_lang(reply.language)
    lang_attr = f' lang="{lang}"' if lang else ""
    parts = [
        f'<section class="sb-reply sb-reply--{kind}" dir="auto"{lang_attr} data-conversation-id="{ctx.conversation_id}">',
        f'<div class="sb-reply__body" dir="auto">{to_html(reply.text)}</div>',
    ]
    if sources:
        items = "".join(f'<li dir="auto">{_source(source)}</li>' for source in sources)
        parts.append(f'<ol class="sb-reply__sources">{items}</ol>')
    if actions:
        parts.append(f'<div class="sb-reply__actions">{"".join(_action(action) for action in actions)}</div>')
    parts.append("</section>")
    return "\n".join(parts)


def _source(source: dict[str, Any]) -> str:
    title = escape_html(source["title"])
    if source["url"] is None:
        return title
    return f'<a href="{escape_html(source["url"])}" target="_blank" rel="{LINK_REL}">{title}</a>'


def _action(action: dict[str, Any]) -> str:
    action_id = escape_html(action["id"])
    label = escape_html(action["label"])
    if action["url"] is None:
        return f'<button type="button" class="sb-action" data-action-id="{action_id}">{label}</button>'
    return (
        f'<a class="sb-action" data-action-id="{action_id}" href="{escape_html(action["url"])}">{label}</a>'
    )
