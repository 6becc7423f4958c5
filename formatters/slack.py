"""Slack payload: Block Kit blocks plus the ``text`` fallback Slack shows in notifications.

Slack rejects a whole message when one limit is broken, so every limit is enforced here rather than
hoped for: section text ≤ 3,000 characters, ≤ 50 blocks, fallback ≤ 40,000, button text ≤ 75.
Every piece of customer, agent or KB text is mrkdwn-escaped, which also keeps ``<!channel>`` or
``<@U123>`` typed by someone from pinging anyone. Button ``action_id``s are the ``Action`` ids and the
``value`` is the conversation id, so the Slack channel can route a press without any lookup.
"""

from __future__ import annotations

from typing import Any

from formatters.markup import clip, escape_mrkdwn, safe_url, slack_label, slack_link, squash, to_mrkdwn
from formatters.splitting import split_text
from store.models import Action, RenderContext, Reply, Source

SECTION_LIMIT = 3000
BLOCK_LIMIT = 50
FALLBACK_LIMIT = 40_000
BUTTON_TEXT_LIMIT = 75
CONTEXT_ELEMENT_LIMIT = 10
ACTIONS_PER_BLOCK = 25
TITLE_LIMIT = 200  # a source title is a citation, not a paragraph
URL_LIMIT = 2000  # keeps one citation well inside a context element's 3,000 characters
CONTINUED = "…continued"


def render(reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """``{"text", "blocks"}``: sections of the reply, a context block of sources, actions blocks."""
    tail = [*_source_blocks(reply.sources), *_action_blocks(reply.actions, ctx)]
    sections = [_section(chunk) for chunk in split_text(reply.text, SECTION_LIMIT, measure=_mrkdwn_length)]
    room = BLOCK_LIMIT - len(tail)
    if len(sections) > room:
        sections = [*sections[: room - 1], _context([CONTINUED])]
    return {"text": _fallback(reply), "blocks": [*sections, *tail]}


def _mrkdwn_length(chunk: str) -> int:
    return len(to_mrkdwn(chunk))


def _fallback(reply: Reply) -> str:
    chunks = split_text(reply.text, FALLBACK_LIMIT - 2, measure=_mrkdwn_length)
    if not chunks:
        labels = " · ".join(squash(action.label) or action.id for action in reply.actions)
        return clip(escape_mrkdwn(labels), FALLBACK_LIMIT) or reply.kind.value
    return to_mrkdwn(chunks[0]) + (" …" if len(chunks) > 1 else "")


def _section(chunk: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": to_mrkdwn(chunk)}}


def _context(texts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text} for text in texts]}


def _citation(n: int, source: Source) -> str:
    title = clip(squash(source.title) or source.id, TITLE_LIMIT)
    url = safe_url(source.url)
    if url and len(url) > URL_LIMIT:
        url = None
    return f"[{n}] {slack_link(url, title)}" if url else f"[{n}] {slack_label(title)}"


def _source_blocks(sources: tuple[Source, ...]) -> list[dict[str, Any]]:
    """One context block; past its ten-element limit the rest are counted, not dropped silently."""
    if not sources:
        return []
    citations = [_citation(n, source) for n, source in enumerate(sources, start=1)]
    if len(citations) > CONTEXT_ELEMENT_LIMIT:
        hidden = len(citations) - (CONTEXT_ELEMENT_LIMIT - 1)
        citations = [*citations[: CONTEXT_ELEMENT_LIMIT - 1], f"+{hidden} more"]
    return [_context(citations)]


def _action_blocks(actions: tuple[Action, ...], ctx: RenderContext) -> list[dict[str, Any]]:
    """Buttons, 25 to a block; a repeated id is dropped because Slack refuses duplicate action_ids."""
    unique: dict[str, Action] = {}
    for action in actions:
        unique.setdefault(action.id, action)
    buttons = [_button(action, ctx) for action in unique.values()]
    return [
        {"type": "actions", "elements": buttons[start : start + ACTIONS_PER_BLOCK]}
        for start in range(0, len(buttons), ACTIONS_PER_BLOCK)
    ]


def _button(action: Action, ctx: RenderContext) -> dict[str, Any]:
    label = clip(squash(action.label) or action.id, BUTTON_TEXT_LIMIT)
    return {
        "type": "button",
        "action_id": action.id,
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "value": str(ctx.conversation_id),
    }
