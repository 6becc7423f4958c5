"""Properties every rendering must keep, whatever the goldens say: safety, limits, no lost words.

Goldens catch change; these catch wrongness, including in goldens nobody re-read carefully. The
fuzzed tests throw arbitrary text (markup, RTL, CJK, emoji, control characters) at every channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formatters import RENDERERS, chat, render, slack
from formatters.markup import to_plain
from formatters.splitting import split_text
from store.models import SOLVED, TALK_TO_HUMAN, Action, Channel, RenderContext, Reply, ReplyKind
from tests.formatters.cases import CASES, CASES_BY_NAME, CJK_TEXT, RTL_TEXT, Case
from tests.formatters.slack_blocks import action_ids, assert_valid_slack_message, slack_problems

CHANNELS = list(RENDERERS)
_HREF = re.compile(r"""\b(?:href|src)\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)
_TAG = re.compile(r"<[a-zA-Z][^>]*>")  # a real tag: text "<" is always escaped to "&lt;"
_EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
_OPEN_TAG = re.compile(r"<(p|li|blockquote)\b([^>]*)>")


def _html_strings(channel: Channel, payload: dict[str, Any]) -> Iterator[str]:
    if channel is Channel.CHAT:
        yield from (part["html"] for part in payload["parts"])
    elif channel in {Channel.EMAIL, Channel.WEBFORM}:
        yield payload["html"]


def _all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _all_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _all_strings(item)


def _assert_safe(channel: Channel, payload: dict[str, Any]) -> None:
    for html in _html_strings(channel, payload):
        assert "<script" not in html.lower()
        assert not _EVENT_HANDLER.search(html), html
        for url in (url for tag in _TAG.findall(html) for url in _HREF.findall(tag)):
            assert url.lower().startswith(("http://", "https://", "mailto:")), url
        for tag, attributes in _OPEN_TAG.findall(html):
            assert 'dir="auto"' in attributes, f"<{tag}> without dir=auto"
    if channel is Channel.SLACK:
        assert not any("<script" in text.lower() for text in _all_strings(payload))
        assert_valid_slack_message(payload)


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_case_is_safe_on_every_channel(case: Case, channel: Channel) -> None:
    _assert_safe(channel, render(channel, case.reply, case.ctx))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_slack_buttons_keep_action_ids_and_carry_the_conversation(case: Case) -> None:
    payload = slack.render(case.reply, case.ctx)
    assert action_ids(payload) == [action.id for action in case.reply.actions]
    buttons = [
        element for block in payload["blocks"] if block["type"] == "actions" for element in block["elements"]
    ]
    assert {button["value"] for button in buttons} <= {str(case.ctx.conversation_id)}


def test_slack_csat_ids_are_the_ones_the_channel_routes_on() -> None:
    payload = slack.render(CASES_BY_NAME["notice_csat"].reply, CASES_BY_NAME["notice_csat"].ctx)
    assert action_ids(payload) == ["csat_1", "csat_2", "csat_3", "csat_4", "csat_5"]


def test_slack_truncates_to_fifty_blocks_with_a_continued_note() -> None:
    paragraph = "Lorem ipsum dolor sit amet & <consectetur> adipiscing elit. " * 40
    text = "\n\n".join(f"{n}: {paragraph}" for n in range(80))  # ~190k characters
    case = CASES_BY_NAME["answer_with_sources"]
    payload = slack.render(Reply(ReplyKind.ANSWER, text, case.reply.sources, case.reply.actions), case.ctx)
    assert_valid_slack_message(payload)
    blocks = payload["blocks"]
    assert len(blocks) == slack.BLOCK_LIMIT
    assert [block["type"] for block in blocks[-3:]] == ["context", "context", "actions"]
    assert blocks[-3]["elements"][0]["text"] == slack.CONTINUED
    assert payload["text"].endswith(" …")


def test_slack_checker_reports_what_is_broken() -> None:
    broken = {
        "text": "<script>",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "x"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3001}},
            {"type": "actions", "elements": [_button("solved"), _button("solved")]},
        ]
        * 20,
    }
    problems = "\n".join(slack_problems(broken))
    for expected in ["unescaped", "'header' not in", "3001 > 3000", "'solved' repeated", "blocks: 60 > 50"]:
        assert expected in problems


def _button(action_id: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "ok"}}


def test_slack_drops_repeated_action_ids_and_clips_long_labels() -> None:
    long = Action(
        "talk_to_human", "Please let me talk to a real person about this, right now, thank you very much"
    )
    reply = Reply(ReplyKind.NOTICE, "Anything else?", actions=(long, SOLVED, TALK_TO_HUMAN))
    payload = slack.render(reply, CASES_BY_NAME["clarify"].ctx)
    assert_valid_slack_message(payload)
    assert action_ids(payload) == ["talk_to_human", "solved"]
    assert payload["blocks"][-1]["elements"][0]["text"]["text"].endswith("…")


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_chat_parts_fit_and_lose_no_words(case: Case) -> None:
    payload = chat.render(case.reply, case.ctx)
    parts = [part["text"] for part in payload["parts"]]
    assert all(0 < len(part) <= chat.PART_LIMIT for part in parts)
    joined = "\n".join(parts)
    assert all(word in joined for word in payload["text"].split())
    assert re.sub(r"\s+", "", joined) == re.sub(r"\s+", "", payload["text"])


def test_long_text_is_split_at_sentence_ends() -> None:
    case = CASES_BY_NAME["long_text"]
    parts = [part["text"] for part in chat.render(case.reply, case.ctx)["parts"]]
    assert len(parts) >= 9  # ~11k characters in bubbles of at most 1,200
    assert all(part.rstrip().endswith((".", "?", "!")) for part in parts)


def test_cjk_without_spaces_splits_at_ideographic_full_stops() -> None:
    text = "我们已经收到您的请求，会尽快回复您。" * 150
    parts = split_text(text, chat.PART_LIMIT)
    assert "".join(parts) == text
    assert all(len(part) <= chat.PART_LIMIT and part.endswith("。") for part in parts)


def test_splitting_never_breaks_an_emoji_sequence() -> None:
    family = "👩\u200d👩\u200d👧\u200d👦"
    text = family * 400
    parts = split_text(text, 100)
    assert "".join(parts) == text
    assert all(part.startswith("👩") and part.endswith("👦") for part in parts)


@pytest.mark.parametrize("case_name", ["answer_with_sources", "handoff", "rtl", "cjk", "markup"])
def test_email_quotes_the_customer_message(case_name: str) -> None:
    case = CASES_BY_NAME[case_name]
    payload = render(Channel.EMAIL, case.reply, case.ctx)
    assert case.ctx.quoted_text
    assert "On 2025-03-03 14:05 UTC, you wrote:" in payload["text"]
    for line in case.ctx.quoted_text.splitlines():
        assert (f"> {line}" if line else ">") in payload["text"].splitlines()
    assert "<blockquote" in payload["html"]
    assert payload["text"].index("— Acme Support") < payload["text"].index("you wrote:")


def test_email_subject_carries_the_tag_once() -> None:
    ctx = RenderContext(7, "Acme", subject="RE: Re:  Billing [#7]\n")
    payload = render(Channel.EMAIL, Reply(ReplyKind.NOTICE, "Thanks!"), ctx)
    assert payload["subject"] == "Re: Billing [#7]"
    assert (
        "\n"
        not in render(Channel.EMAIL, CASES_BY_NAME["markup"].reply, CASES_BY_NAME["markup"].ctx)["subject"]
    )


def test_email_greets_by_name_or_neutrally_and_links_actions_only_with_a_base_url() -> None:
    with_name = render(
        Channel.EMAIL, CASES_BY_NAME["answer_with_sources"].reply, CASES_BY_NAME["answer_with_sources"].ctx
    )
    assert with_name["text"].startswith("Hi Dana,\n")
    assert "https://support.example.com/actions/4812/solved" in with_name["text"]
    notice = CASES_BY_NAME["notice_csat"]
    neutral = render(Channel.EMAIL, notice.reply, notice.ctx)
    assert neutral["text"].startswith("Hello,\n")
    assert "/actions/" not in neutral["text"] + neutral["html"]


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
def test_rtl_and_cjk_text_pass_through_intact(channel: Channel) -> None:
    for name, source in [("rtl", RTL_TEXT), ("cjk", CJK_TEXT)]:
        case = CASES_BY_NAME[name]
        flat = re.sub(r"[*_]", "", "\n".join(_all_strings(render(channel, case.reply, case.ctx))))
        for paragraph in to_plain(source).split("\n"):
            for sentence in re.split(r"(?<=[.!?。！？])\s*", paragraph):
                assert sentence.lstrip("- ") in flat, (name, sentence)


@pytest.mark.parametrize("channel", CHANNELS, ids=str)
def test_suggestions_are_refused(channel: Channel) -> None:
    with pytest.raises(ValueError, match="never sent"):
        render(channel, Reply(ReplyKind.SUGGESTION, "draft"), CASES_BY_NAME["clarify"].ctx)


def test_a_channel_without_a_formatter_is_refused() -> None:
    with pytest.raises(ValueError, match="no formatter"):
        render(Channel.API, Reply(ReplyKind.ANSWER, "hi"), CASES_BY_NAME["clarify"].ctx)


_FUZZ_TEXT = st.lists(
    st.one_of(
        st.sampled_from([*"<>&|*_`[]()!#\\\n -.:/\"'", "<script>", "javascript:", "https://x.y/", "&amp;"]),
        st.sampled_from([*"مرحباשלום漢字かな한글。", "👩\u200d👦", "\u202e", "e\u0301"]),
        st.characters(codec="utf-8"),
        st.text(max_size=40),
    ),
    max_size=600,
).map("".join)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_FUZZ_TEXT, title=st.text(max_size=80), label=st.text(min_size=1, max_size=120))
def test_any_text_renders_safely_within_limits(text: str, title: str, label: str) -> None:
    case = CASES_BY_NAME["answer_with_sources"]
    source = case.reply.sources[0]
    reply = Reply(
        ReplyKind.ANSWER,
        text,
        sources=(type(source)(source.id, title, "", 0.5, "https://x.y/" + title),),
        actions=(Action("solved", label), TALK_TO_HUMAN),
    )
    for channel in CHANNELS:
        payload = render(channel, reply, case.ctx)
        _assert_safe(channel, payload)
        if channel is Channel.CHAT:
            assert all(len(part["text"]) <= chat.PART_LIMIT for part in payload["parts"])


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.WEBFORM], ids=str)
def test_a_hostile_language_tag_is_not_written_into_html(channel: Channel) -> None:
    reply = Reply(ReplyKind.ANSWER, "Hello", language='en"><script>alert(1)</script>')
    payload = render(channel, reply, CASES_BY_NAME["clarify"].ctx)
    _assert_safe(channel, payload)
    assert " lang=" not in payload["html"]


def test_email_without_a_tenant_name_still_reads_well() -> None:
    payload = render(Channel.EMAIL, Reply(ReplyKind.NOTICE, "Got it."), RenderContext(9, "  "))
    assert payload["subject"] == "Support [#9]"
    assert "— Support\n" in payload["text"]
