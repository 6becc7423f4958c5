"""Chat widget payload: short bubbles of safe HTML plus the same text in plain form.

A chat bubble is read at a glance, so a long answer goes out as several parts cut at paragraph or
sentence boundaries. Sources and actions stay structured data (the widget draws citations and
buttons and sets their text as text, never as HTML), so nothing customer-supplied is ever parsed
as markup on the client.
"""

from __future__ import annotations

from typing import Any

from formatters.markup import safe_url, squash, to_html, to_plain
from formatters.splitting import split_text
from store.models import RenderContext, Reply

PART_LIMIT = 1200  # characters of plain text in one bubble


def render(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """``{"kind", "text", "parts": [{"text", "html"}], "sources", "actions", "language"}``."""
    chunks = split_text(reply.text, PART_LIMIT, measure=lambda chunk: len(to_plain(chunk)))
    return {
        "kind": reply.kind.value,
        "text": to_plain(reply.text),
        "parts": [
            {"text": to_plain(chunk), "html": f'<div dir="auto">{to_html(chunk)}</div>'} for chunk in chunks
        ],
        "sources": [
            {"n": n, "id": source.id, "title": squash(source.title) or source.id, "url": safe_url(source.url)}
            for n, source in enumerate(reply.sources, start=1)
        ],
        "actions": [
            {"id": action.id, "label": squash(action.label) or action.id} for action in reply.actions
        ],
        "language": reply.language,
    }
