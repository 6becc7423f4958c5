"""Slack over real HTTP: requests signed exactly as Slack signs them, Slack's Web API as a local stand-in.

Payloads come from ../shared/datasets/slack (bolt-python and java-slack-sdk test samples, Slack's
signing test vector). The gateway runs without the AI worker: replies are written as an agent
through ``send_reply``, and this test runs only the outbox dispatcher for Slack.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import os
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool
from slack_sdk.signature import Clock, SignatureVerifier

from channels.slack import SlackChannel, decide
from gateway.app import services
from gateway.dispatcher import Dispatcher
from gateway.ingest import AGENT_RUN, ingest
from gateway.replies import send_reply
from store import customers, slack_workspaces
from store.models import SOLVED, TALK_TO_HUMAN, AuthorKind, Channel, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories as f
from tests.channels.test_chat import poll_until
from tests.formatters.slack_blocks import assert_valid_slack_message
from tests.servers.gateway import RunningGateway, running_gateway
from tests.servers.slack_api import Scripted, SlackApiStandIn, running_slack_api

DATA = Path(os.environ.get("SWITCHBOARD_SLACK_DATASET", Path(__file__).resolve().parents[3] / "shared/datasets/slack"))
if not DATA.exists():
    pytest.skip(f"Slack dataset not found at {DATA} (set SWITCHBOARD_SLACK_DATASET)", allow_module_level=True)

TEAM, OTHER_TEAM = "T111", "T222"
BOT_USER = "UBOT111"
SECRETS = {TEAM: "secret-of-t111-0123456789abcdef", OTHER_TEAM: "secret-of-t222-fedcba9876543210"}
TOKENS = {TEAM: "xoxb-t111-test", OTHER_TEAM: "xoxb-t222-test"}
DM = "D111"


def sample(name: str) -> dict[str, Any]:
    path = DATA / name if "/" in name else DATA / "bolt_python" / name
    return json.loads(path.read_text())


def sign(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    """Exactly Slack's scheme: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}"))."""
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def event_body(name: str, event_id: str, *, team: str = TEAM, **event: Any) -> dict[str, Any]:
    body = copy.deepcopy(sample(name))
    body["team_id"] = team
    body["event_id"] = event_id
    body["event"].update(event)
    return body


def dm(event_id: str, ts: str, text: str = "My invoice is wrong", user: str = "W111", **extra: Any) -> dict[str, Any]:
    return event_body("event_callback_message.json", event_id, text=text, user=user, ts=ts, event_ts=ts,
                      channel=DM, channel_type="im", **extra)


async def post(url: str, body: dict[str, Any] | bytes, secret: str, *, path: str = "/slack/events",
               ts: int | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    content_type = "application/x-www-form-urlencoded" if path.endswith("interactivity") else "application/json"
    all_headers = {"Content-Type": content_type, **sign(secret, raw, ts), **(headers or {})}
    async with aiohttp.ClientSession() as http, http.post(url + path, data=raw, headers=all_headers) as resp:
        return resp.status, await resp.text()


def interaction(payload: dict[str, Any]) -> bytes:
    return ("payload=" + urllib.parse.quote(json.dumps(payload))).encode()


def press(action_id: str, conversation_id: int, channel: str, thread_ts: str, team: str = TEAM) -> bytes:
    body = copy.deepcopy(sample("block_actions.json"))
    body["team"]["id"] = team
    body["user"]["team_id"] = team
    body["container"] = {"type": "message", "message_ts": "1700000099.000100", "channel_id": channel,
                         "is_ephemeral": False, "thread_ts": thread_ts}
    body["channel"]["id"] = channel
    body["actions"][0].update(action_id=action_id, value=str(conversation_id))
    return interaction(body)


async def rows(pool: AsyncConnectionPool, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def wait_rows(pool: AsyncConnectionPool, sql: str, *args: Any, count: int = 1, within: float = 10
                    ) -> list[dict[str, Any]]:
    """Polls a query with a deadline until it returns ``count`` rows."""
    deadline = time.monotonic() + within
    while True:
        found = await rows(pool, sql, *args)
        if len(found) == count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"expected {count} rows, got {found}")
        await asyncio.sleep(0.05)


async def wait_event(pool: AsyncConnectionPool, event_id: str, status: str = "done") -> dict[str, Any]:
    return (await wait_rows(pool, "SELECT * FROM slack_events WHERE event_id = %s AND status = %s",
                            event_id, status))[0]


# -- offline: the dataset itself -------------------------------------------------------------------------
class PinnedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_signing_test_vector_verifies() -> None:
    v = sample("./signing_secret_test_vector.json")
    ts = int(v["headers"]["X-Slack-Request-Timestamp"])
    body = v["raw_body"].encode()
    assert sign(v["signing_secret"], body, ts)["X-Slack-Signature"] == v["expected_signature"]
    verifier = SignatureVerifier(v["signing_secret"], PinnedClock(v["clock_now_for_valid_case"]))
    assert verifier.is_valid(body, str(ts), v["expected_signature"])
    assert not verifier.is_valid(body + b"------", str(ts), v["expected_signature"])
    late = SignatureVerifier(v["signing_secret"], PinnedClock(ts + 301))
    assert not late.is_valid(body, str(ts), v["expected_signature"])


EXPECTED_KIND = {
    "event_callback_app_mention.json": "ingest",
    "event_callback_app_mention_shared_channel.json": "ingest",
    "event_callback_message.json": "ignore",  # a channel message not addressed to us
    "event_callback_message_user_with_blocks.json": "ignore",
    "event_callback_message_from_bot_user.json": "ignore",
    "event_callback_message_subtype_bot_message.json": "ignore",
    "event_callback_message_changed.json": "edit",
    "event_callback_message_deleted.json": "delete",
    "event_callback_message_thread_broadcast.json": "ingest",  # only into a thread we already hold
    "event_callback_message_file_share.json": "ignore",
    "event_callback_reaction_added.json": "ignore",
}


def test_every_sample_payload_parses() -> None:
    index = sample("index.json")
    assert {e["file"] for e in index if e["type"] == "event_callback"} == set(EXPECTED_KIND)
    for entry in index:
        body = sample(entry["file"])
        assert body["type"] == entry["type"]
        if entry["type"] == "event_callback":
            assert decide(body["event"], BOT_USER).kind == EXPECTED_KIND[entry["file"]], entry["file"]
    for name in ("AppMentionPayload.json", "MessagePayload.json"):  # every optional field, empty values
        assert decide(sample(f"java_sdk_schema_samples/{name}"), BOT_USER).kind == "ignore"


# -- over HTTP -------------------------------------------------------------------------------------------
@pytest.fixture
async def slack_api() -> AsyncIterator[SlackApiStandIn]:
    async with running_slack_api() as api:
        api.add_user("W111", TEAM, "kim@example.com", "Kim")
        api.add_user("W222", TEAM, "lee@example.com", "Lee")
        yield api


@pytest.fixture
async def workspaces(pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant, slack_api: SlackApiStandIn,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    async with pool.connection() as conn:
        for team, owner in ((TEAM, tenant), (OTHER_TEAM, other_tenant)):
            monkeypatch.setenv(f"SLACK_{team}_BOT_TOKEN", TOKENS[team])
            monkeypatch.setenv(f"SLACK_{team}_SIGNING_SECRET", SECRETS[team])
            await slack_workspaces.register(conn, owner.id, team, bot_token_env=f"SLACK_{team}_BOT_TOKEN",
                                            signing_secret_env=f"SLACK_{team}_SIGNING_SECRET",
                                            bot_user_id=BOT_USER if team == TEAM else "UBOT222",
                                            api_base_url=slack_api.base_url)


@pytest.fixture
async def gw(pool: AsyncConnectionPool, dsn: str, tmp_path: Path, workspaces: None) -> AsyncIterator[RunningGateway]:
    """The gateway without the AI worker, plus a dispatcher for Slack deliveries only."""
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as gateway:
        slack: SlackChannel = services(gateway.app)["slack"]
        dispatcher = asyncio.create_task(Dispatcher(pool, {Channel.SLACK: slack.sender},
                                                    idle_poll_seconds=0.05).run_forever())
        try:
            yield gateway
        finally:
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)


async def test_bad_stale_and_foreign_signatures_are_refused(gw: RunningGateway, pool: AsyncConnectionPool) -> None:
    body = dm("EvBAD", "1700000000.000100")
    assert (await post(gw.url, body, "not-the-secret"))[0] == 401
    assert (await post(gw.url, body, SECRETS[TEAM], ts=int(time.time()) - 301))[0] == 401
    assert (await post(gw.url, body, SECRETS[TEAM], ts=int(time.time()) + 301))[0] == 401
    assert (await post(gw.url, body, SECRETS[OTHER_TEAM]))[0] == 401  # T111's event, T222's secret
    assert (await post(gw.url, {**body, "team_id": "T999"}, SECRETS[TEAM]))[0] == 401  # no such workspace
    assert (await post(gw.url, press("solved", 1, DM, "1.2"), SECRETS[OTHER_TEAM], path="/slack/interactivity"))[0] == 401
    assert await rows(pool, "SELECT 1 FROM slack_events") == []
    assert await rows(pool, "SELECT 1 FROM messages") == []


async def test_url_verification_is_answered(gw: RunningGateway) -> None:
    body = sample("url_verification.json")
    status, text = await post(gw.url, body, SECRETS[OTHER_TEAM])
    assert status == 200 and json.loads(text) == {"challenge": body["challenge"]}
    assert (await post(gw.url, body, "not-the-secret"))[0] == 401


async def test_one_event_delivered_three_times_makes_one_message_and_one_reply(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn) -> None:
    ts = "1700000000.000100"
    body = dm("EvDUP1", ts)
    for retry in (None, "1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        assert (await post(gw.url, body, SECRETS[TEAM], headers=headers))[0] == 200
    await wait_event(pool, "EvDUP1")
    [msg] = await rows(pool, "SELECT * FROM messages WHERE tenant_id = %s", tenant.id)
    assert msg["external_id"] == f"{DM}:{ts}" and msg["text"] == "My invoice is wrong"
    assert len(await rows(pool, "SELECT 1 FROM jobs WHERE kind = %s", AGENT_RUN)) == 1

    async with pool.connection() as conn, conn.transaction():
        await send_reply(conn, tenant.id, msg["conversation_id"],
                         Reply(ReplyKind.ANSWER, "Sorry about that <b>& here</b> is the fix.",
                               actions=(TALK_TO_HUMAN, SOLVED)),
                         author_kind=AuthorKind.AGENT, answers_message_id=msg["id"])
    await wait_rows(pool, "SELECT 1 FROM outbox WHERE status = 'sent'")
    assert (await post(gw.url, body, SECRETS[TEAM], headers={"X-Slack-Retry-Num": "3"}))[0] == 200
    [call] = slack_api.calls_to("chat.postMessage")
    assert call.token == TOKENS[TEAM]
    assert call.args["channel"] == DM and call.args["thread_ts"] == ts
    assert_valid_slack_message({"text": call.args["text"], "blocks": call.args["blocks"]})
    buttons = [e for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("talk_to_human", str(msg["conversation_id"])), ("solved", str(msg["conversation_id"]))]
    assert len(await rows(pool, "SELECT 1 FROM messages WHERE direction = 'in'")) == 1
    assert len(slack_api.calls_to("users.info")) == 1


async def test_mention_and_its_message_event_are_one_message_and_thread_replies_join(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> None:
    ts = "1700000100.000200"
    mention = event_body("event_callback_app_mention.json", "EvM1", ts=ts, event_ts=ts, text=f"<@{BOT_USER}> help!")
    same_as_message = event_body("event_callback_message.json", "EvM2", ts=ts, event_ts=ts, user="W222",
                                 text=f"<@{BOT_USER}> help!", thread_ts=ts)
    reply_in_thread = event_body("event_callback_message.json", "EvM3", ts="1700000101.000300", user="W111",
                                 text="same problem here", thread_ts=ts)
    stray = event_body("event_callback_message.json", "EvM4", ts="1700000102.000400", thread_ts="1600000000.000001")
    for body in (mention, same_as_message, reply_in_thread, stray):
        assert (await post(gw.url, body, SECRETS[TEAM]))[0] == 200
        await wait_rows(pool, "SELECT 1 FROM slack_events WHERE event_id = %s AND status <> 'pending'",
                        body["event_id"])
    got = await rows(pool, "SELECT conversation_id, text, external_id FROM messages ORDER BY id")
    assert [(m["text"], m["external_id"]) for m in got] == [("help!", f"C111:{ts}"),
                                                           ("same problem here", "C111:1700000101.000300")]
    assert got[0]["conversation_id"] == got[1]["conversation_id"]  # one Slack thread, one conversation
    assert (await wait_event(pool, "EvM4", "ignored"))["outcome"] == "thread reply outside our conversations"


async def test_bot_echoes_and_our_own_bot_are_ignored(gw: RunningGateway, pool: AsyncConnectionPool,
                                                      slack_api: SlackApiStandIn) -> None:
    echoes = [
        sample("event_callback_message_from_bot_user.json"),
        sample("event_callback_message_subtype_bot_message.json"),
        dm("EvOWN", "1700000200.000100", text="our own reply", user=BOT_USER),
        dm("EvOWNBOT", "1700000200.000200", text="our own reply", bot_id="B0OURBOT"),
    ]
    for body in echoes:
        body["team_id"] = TEAM
        body["event"]["channel_type"] = "im"
        assert (await post(gw.url, body, SECRETS[TEAM]))[0] == 200
    for body in echoes:
        await wait_event(pool, body["event_id"], "ignored")
    assert await rows(pool, "SELECT 1 FROM messages") == []
    assert await rows(pool, "SELECT 1 FROM jobs WHERE kind = %s", AGENT_RUN) == []
    assert slack_api.calls_to("users.info") == []


async def test_edit_and_delete_are_applied(gw: RunningGateway, pool: AsyncConnectionPool) -> None:
    ts = "1700000300.000100"
    await post(gw.url, dm("EvE1", ts, text="original message"), SECRETS[TEAM])
    await wait_event(pool, "EvE1")
    changed = event_body("event_callback_message_changed.json", "EvE2", channel=DM, channel_type="im")
    changed["event"]["message"].update(ts=ts, user="W111")
    changed["event"]["previous_message"].update(ts=ts, user="W111")
    assert (await post(gw.url, changed, SECRETS[TEAM]))[0] == 200
    await wait_event(pool, "EvE2")
    [msg] = await rows(pool, "SELECT * FROM messages")
    assert msg["text"] == "updated message" and msg["edited_at"] is not None and msg["deleted_at"] is None
    assert msg["raw"]["edits"][0]["previous_text"] == "original message"
    deleted = event_body("event_callback_message_deleted.json", "EvE3", channel=DM, channel_type="im", deleted_ts=ts)
    assert (await post(gw.url, deleted, SECRETS[TEAM]))[0] == 200
    await wait_event(pool, "EvE3")
    [msg] = await rows(pool, "SELECT * FROM messages")
    assert msg["deleted_at"] is not None
    actions = [r["action"] for r in await rows(pool, "SELECT action FROM audit_events ORDER BY id")]
    assert actions[-2:] == ["message.edited", "message.deleted"]


async def test_buttons_hand_off_resolve_and_record_csat(gw: RunningGateway, pool: AsyncConnectionPool,
                                                        tenant: Tenant, other_tenant: Tenant,
                                                        slack_api: SlackApiStandIn) -> None:
    ts = "1700000400.000100"
    await post(gw.url, dm("EvB1", ts), SECRETS[TEAM])
    await wait_event(pool, "EvB1")
    [msg] = await rows(pool, "SELECT conversation_id FROM messages")
    conv = msg["conversation_id"]
    theirs = await ingest(pool, f.slack(other_tenant.id, OTHER_TEAM, "U9", thread=f"{DM}:{ts}"))

    async def status_of(tenant_id: int, conv_id: int) -> str:
        return (await rows(pool, "SELECT status FROM conversations WHERE tenant_id = %s AND id = %s",
                           tenant_id, conv_id))[0]["status"]

    async def click(action_id: str, conv_id: int, thread: str = ts) -> None:
        status, _ = await post(gw.url, press(action_id, conv_id, DM, thread), SECRETS[TEAM], path="/slack/interactivity")
        assert status == 200

    await click("solved", theirs.conversation_id)  # another tenant's conversation: never touched
    await click("solved", conv, thread="1600000000.000001")  # ours, but pressed in another thread
    assert await status_of(other_tenant.id, theirs.conversation_id) == "new"
    assert await status_of(tenant.id, conv) == "new"

    await click("talk_to_human", conv)
    assert await status_of(tenant.id, conv) == "pending_agent"
    await poll_until(lambda: len(slack_api.calls_to("chat.postMessage")) == 1)
    notice = slack_api.calls_to("chat.postMessage")[0].args
    assert notice["channel"] == DM and notice["thread_ts"] == ts
    await click("solved", conv)
    assert await status_of(tenant.id, conv) == "resolved"
    await click("csat_4", conv)
    [csat] = await rows(pool, "SELECT * FROM audit_events WHERE action = 'csat.answered'")
    assert csat["subject_id"] == conv and csat["details"] == {"score": 4} and csat["actor"] == f"slack:{TEAM}:W111"
    status, _ = await post(gw.url, interaction(sample("block_actions.json") | {"team": {"id": TEAM}}), SECRETS[TEAM],
                           path="/slack/interactivity")  # the sample's own button ("a"): not ours, acknowledged
    assert status == 200


async def test_unknown_event_types_are_acknowledged(gw: RunningGateway, pool: AsyncConnectionPool) -> None:
    reaction = sample("event_callback_reaction_added.json") | {"event_id": "EvR1"}
    assert (await post(gw.url, reaction, SECRETS[TEAM]))[0] == 200
    assert (await wait_event(pool, "EvR1", "ignored"))["outcome"] == "event type 'reaction_added'"
    assert (await post(gw.url, {"type": "app_rate_limited", "team_id": TEAM}, SECRETS[TEAM]))[0] == 200
    for name in ("view_submission.json", "shortcut_global.json"):
        assert (await post(gw.url, interaction(sample(name) | {"team": {"id": TEAM}}), SECRETS[TEAM],
                           path="/slack/interactivity"))[0] == 200


async def reply_to_first_message(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    [msg] = await rows(pool, "SELECT * FROM messages")
    async with pool.connection() as conn, conn.transaction():
        await send_reply(conn, tenant.id, msg["conversation_id"], Reply(ReplyKind.ANSWER, "Here is the fix."),
                         author_kind=AuthorKind.AGENT, answers_message_id=msg["id"])


async def test_rate_limit_is_retried_after_retry_after_and_delivered_once(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn) -> None:
    await post(gw.url, dm("EvL1", "1700000500.000100"), SECRETS[TEAM])
    await wait_event(pool, "EvL1")
    slack_api.script("chat.postMessage", Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    await reply_to_first_message(pool, tenant)
    [row] = await wait_rows(pool, "SELECT * FROM outbox WHERE status = 'sent'")
    first, second = slack_api.calls_to("chat.postMessage")
    assert second.at - first.at >= 0.9  # waited for Retry-After
    assert row["attempts"] == 2 and second.args["thread_ts"] == "1700000500.000100"


async def test_channel_not_found_fails_the_delivery(gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,
                                                    slack_api: SlackApiStandIn) -> None:
    await post(gw.url, dm("EvF1", "1700000600.000100"), SECRETS[TEAM])
    await wait_event(pool, "EvF1")
    slack_api.script("chat.postMessage", Scripted(200, {"ok": False, "error": "channel_not_found"}))
    await reply_to_first_message(pool, tenant)
    [row] = await wait_rows(pool, "SELECT * FROM outbox WHERE status = 'failed'")
    assert "channel_not_found" in row["last_error"] and len(slack_api.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("verifies", [True, False])
async def test_profile_email_merges_only_when_the_workspace_verifies_emails(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, verifies: bool) -> None:
    by_email = await ingest(pool, f.email(tenant.id, "kim@example.com"))
    async with pool.connection() as conn:
        await slack_workspaces.set_verifies_emails(conn, tenant.id, TEAM, verifies)
    await post(gw.url, dm("EvI1", "1700000700.000100"), SECRETS[TEAM])
    await wait_event(pool, "EvI1")
    [slack_msg] = await rows(pool, "SELECT conversation_id FROM messages WHERE channel = 'slack'")
    [conv] = await rows(pool, "SELECT customer_id FROM conversations WHERE id = %s", slack_msg["conversation_id"])
    async with pool.connection() as conn:
        group = await customers.group(conn, tenant.id, conv["customer_id"])
        idents = await customers.identities(conn, tenant.id, group)
    assert (by_email.customer_id in group) is verifies
    email_ids = [(i.source.value, i.links) for i in idents if i.value == "kim@example.com"]
    if verifies:
        assert ("email_from", True) in email_ids
    else:
        assert email_ids == [("slack_profile_email_other_workspace", False)]  # a claim agents see, no merge
    assert any(i.value == f"{TEAM}:W111" and i.links for i in idents)


async def test_ack_comes_before_a_slow_users_info(gw: RunningGateway, pool: AsyncConnectionPool,
                                                  slack_api: SlackApiStandIn) -> None:
    slack_api.delays["users.info"] = 3.0  # as slow as Slack's whole budget for the ack
    started = time.monotonic()
    assert (await post(gw.url, dm("EvS1", "1700000800.000100"), SECRETS[TEAM]))[0] == 200
    assert time.monotonic() - started < 3.0
    assert await rows(pool, "SELECT 1 FROM messages") == []  # answered before the work was done
    await wait_event(pool, "EvS1")
    assert len(await rows(pool, "SELECT 1 FROM messages")) == 1


async def test_an_event_acked_by_a_process_that_died_is_redone(gw: RunningGateway, pool: AsyncConnectionPool,
                                                               tenant: Tenant) -> None:
    body = dm("EvC1", "1700000900.000100")
    async with pool.connection() as conn:  # what the dead process did before answering 200
        assert await slack_workspaces.accept_event(conn, tenant.id, TEAM, "EvC1", "message", body, lease_seconds=0)
    assert await services(gw.app)["slack"].sweep_once() == 1
    await wait_event(pool, "EvC1")
    assert (await post(gw.url, body, SECRETS[TEAM], headers={"X-Slack-Retry-Num": "1"}))[0] == 200
    assert len(await rows(pool, "SELECT 1 FROM messages")) == 1
    assert (await rows(pool, "SELECT payload FROM slack_events"))[0]["payload"] is None  # content lives in messages
