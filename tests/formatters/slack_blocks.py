"""A structural check of a Slack message payload against the Block Kit limits we rely on.

Slack refuses a whole message for one broken limit, and only at send time; this checker lets any
test (formatter goldens now, the Slack channel's send tests later) catch that offline. It returns
every problem rather than stopping at the first, so a failure says all that is wrong at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

ALLOWED_BLOCK_TYPES = frozenset({"section", "context", "actions", "divider"})
MAX_BLOCKS = 50
MAX_FALLBACK = 40_000
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_BUTTON_VALUE = 2000

# What may legitimately appear in angle brackets in our mrkdwn: a link we wrote. Anything else
# (a raw "<script>", "<!channel>", "<@U123>") means someone's text went out unescaped.
_OUR_LINK = re.compile(r"<(?:https?://|mailto:)[^<>|\s]+(?:\|[^<>|]*)?>")
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def slack_problems(
    payload: Mapping[str, Any], allowed_types: Iterable[str] = ALLOWED_BLOCK_TYPES
) -> list[str]:
    """Every way ``payload`` breaks a Block Kit limit or our escaping rule; empty when it is fine."""
    problems: list[str] = []
    allowed = frozenset(allowed_types)
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        problems.append("text: missing or empty fallback")
    else:
        if len(text) > MAX_FALLBACK:
            problems.append(f"text: {len(text)} > {MAX_FALLBACK} characters")
        problems += _mrkdwn_problems("text", text)
    blocks = payload.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [*problems, "blocks: missing or empty"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} > {MAX_BLOCKS}")
    seen_action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        kind = block.get("type")
        if kind not in allowed:
            problems.append(f"{where}: type {kind!r} not in {sorted(allowed)}")
        elif kind == "section":
            problems += _text_object_problems(f"{where}.text", block.get("text"), MAX_SECTION_TEXT)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
                problems.append(f"{where}: {len(elements)} context elements, need 1..{MAX_CONTEXT_ELEMENTS}")
            for n, element in enumerate(elements):
                problems += _text_object_problems(f"{where}.elements[{n}]", element, MAX_SECTION_TEXT)
        elif kind == "actions":
            problems += _actions_problems(where, block.get("elements") or [], seen_action_ids)
    return problems


def assert_valid_slack_message(payload: Mapping[str, Any]) -> None:
    problems = slack_problems(payload)
    assert not problems, "invalid Slack message:\n" + "\n".join(problems)


def action_ids(payload: Mapping[str, Any]) -> list[str]:
    """The buttons' ``action_id``s in order, as Slack will report them back on a press."""
    return [
        element["action_id"]
        for block in payload.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def _text_object_problems(where: str, obj: Any, limit: int) -> list[str]:
    if not isinstance(obj, Mapping) or obj.get("type") not in {"mrkdwn", "plain_text"}:
        return [f"{where}: not a text object"]
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return [f"{where}: empty text"]
    problems = [f"{where}: {len(text)} > {limit} characters"] if len(text) > limit else []
    if obj["type"] == "mrkdwn":
        problems += _mrkdwn_problems(where, text)
    return problems


def _mrkdwn_problems(where: str, text: str) -> list[str]:
    problems: list[str] = []
    rest = _OUR_LINK.sub("", text)
    if "<" in rest or ">" in rest:
        problems.append(f"{where}: unescaped < or > outside a link")
    if _BARE_AMPERSAND.search(text):
        problems.append(f"{where}: unescaped &")
    return problems


def _actions_problems(where: str, elements: list[Any], seen: set[str]) -> list[str]:
    problems: list[str] = []
    if not 1 <= len(elements) <= MAX_ACTION_ELEMENTS:
        problems.append(f"{where}: {len(elements)} elements, need 1..{MAX_ACTION_ELEMENTS}")
    for n, button in enumerate(elements):
        spot = f"{where}.elements[{n}]"
        if button.get("type") != "button":
            problems.append(f"{spot}: type {button.get('type')!r} is not a button")
            continue
        label = button.get("text") or {}
        if label.get("type") != "plain_text" or not str(label.get("text", "")).strip():
            problems.append(f"{spot}.text: not a non-empty plain_text")
        elif len(label["text"]) > MAX_BUTTON_TEXT:
            problems.append(f"{spot}.text: {len(label['text'])} > {MAX_BUTTON_TEXT} characters")
        action_id = button.get("action_id")
        if not isinstance(action_id, str) or not 1 <= len(action_id) <= MAX_ACTION_ID:
            problems.append(f"{spot}.action_id: missing or longer than {MAX_ACTION_ID}")
        elif action_id in seen:
            problems.append(f"{spot}.action_id: {action_id!r} repeated")
        else:
            seen.add(action_id)
        value = button.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            problems.append(f"{spot}.value: not a string of at most {MAX_BUTTON_VALUE}")
        if button.get("style") not in {None, "primary", "danger"}:
            problems.append(f"{spot}.style: {button.get('style')!r}")
    return problems
