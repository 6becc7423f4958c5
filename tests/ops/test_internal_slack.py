"""Internal Slack escalation: a summary with a console deep link goes to the team's channel through the
outbox; replies in its thread come back as internal notes (author mapped by email) and never reach the
customer. Slack's Web API is the local stand-in; the chat customer is a real Socket.IO client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.ops.routing import SkillRouter
from gateway.ops.sla_ladder import SlaLadder
from store import internal_slack
from store.tenants import Tenant
from tests.channels.test_chat import Visitor, poll_until, session_token
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.ops import seed
from tests.ops.seed import T0
from tests.servers.gateway import RunningGateway
from tests.servers.slack_api import SlackApiStandIn, running_slack_api

TEAM, CHANNEL = "TINT1", "CINT1"
TOKEN, SECRET = "xoxb-internal-test", "internal-signing-secret-0123456789"
NOTE = "Checked the logs: known bug, fix ships Friday. Do NOT promise a refund yet."


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/json"}


async def slack_event(url: str, event: dict[str, Any], *, event_id: str, secret: str = SECRET,
                      path: str = "/slack/internal/events", team: str = TEAM) -> int:
    body = json.dumps({"type": "event_callback", "team_id": team, "event_id": event_id, "event": event}).encode()
    async with aiohttp.ClientSession() as http, http.post(f"{url}{path}", data=body,
                                                          headers=signed(body, secret)) as resp:
        return resp.status


async def posted_roots(pool: AsyncConnectionPool, cid: int, within: float = 20) -> list[dict[str, Any]]:
    """The summaries recorded for a conversation, polled with a deadline (the sender records after Slack answers)."""
    deadline = time.monotonic() + within
    while not (found := await seed.rows(pool, "SELECT ts FROM internal_slack_posts WHERE conversation_id = %s"
                                        " ORDER BY created_at", cid)):
        assert time.monotonic() < deadline, "no summary was recorded"
        await asyncio.sleep(0.05)
    return found


@pytest.fixture
async def slack_api(monkeypatch: pytest.MonkeyPatch, tenant: Tenant) -> AsyncIterator[SlackApiStandIn]:
    token_env, secret_env = internal_slack.env_names(tenant.slug)  # named by the slug, not by the admin
    monkeypatch.setenv(token_env, TOKEN)
    monkeypatch.setenv(secret_env, SECRET)
    async with running_slack_api() as api:
        yield api


async def operator_points_at(pool: AsyncConnectionPool, tenant: Tenant, api: SlackApiStandIn) -> None:
    """The operator's part: the Web API base URL (here the stand-in) is not an admin's to set."""
    token_env, secret_env = internal_slack.env_names(tenant.slug)
    async with pool.connection() as conn:
        await internal_slack.put(conn, tenant.id, team_id="TOLD", channel_id="COLD", bot_token_env=token_env,
                                 signing_secret_env=secret_env, api_base_url=api.base_url)


async def test_escalation_posts_to_internal_slack_and_thread_replies_become_internal_notes(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn,
) -> None:
    admin_id = await make_agent(pool, tenant, f"ada@{tenant.slug}.test", role="admin")
    slack_api.add_user("UADA", TEAM, f"ADA@{tenant.slug}.test", "Ada L.")  # email case differs on purpose
    slack_api.add_user("UOUT", TEAM, "contractor@elsewhere.test", "Contractor")
    admin = ConsoleClient(gateway.url)
    assert await admin.login(f"ada@{tenant.slug}.test", PASSWORD) == 303
    visitor = Visitor()
    await visitor.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    try:
        await operator_points_at(pool, tenant, slack_api)
        for bad_body, field in (({"team_id": TEAM, "channel_id": "#support"}, "channel_id"),
                                ({"team_id": TEAM, "channel_id": CHANNEL, "bot_token_env": "OTHER_TENANTS_TOKEN"},
                                 "bot_token_env"),  # an admin cannot aim us at another variable…
                                ({"team_id": TEAM, "channel_id": CHANNEL, "api_base_url": "http://evil.test/"},
                                 "api_base_url")):  # …or send the token to another host
            bad = await admin.send("PUT", "/console/api/admin/internal-slack", bad_body, expect=422)
            assert bad["error"]["field"] == field
        saved = (await admin.send("PUT", "/console/api/admin/internal-slack",
                                  {"team_id": TEAM, "channel_id": CHANNEL}))["internal_slack"]
        assert saved["api_base_url"] == slack_api.base_url  # the operator's setting survives the admin's edit
        assert saved["bot_token_env"] == internal_slack.env_names(tenant.slug)[0]
        await admin.post("/console/api/admin/escalation-paths", {
            "kind": "technical", "name": "Engineering", "owner": {"agent_id": admin_id}, "response_minutes": 60,
            "template": "Engineering, please look at #{conversation_id}: {note}"}, expect=201)

        ack = await visitor.call("message", {"client_id": "c-1", "text": "Export fails <!channel> since Monday"})
        cid = ack["conversation_id"]
        await admin.post(f"/console/api/conversations/{cid}/escalate", {"kind": "technical", "note": "CSV export"},
                         expect=201)
        await poll_until(lambda: slack_api.calls_to("chat.postMessage"), within=20)
        [post] = slack_api.calls_to("chat.postMessage")
        assert post.token == TOKEN and post.args["channel"] == CHANNEL and not post.args.get("thread_ts")
        posted = json.dumps(post.args)
        assert f"/console#/c/{cid}" in posted  # the deep link into the console
        assert "<!channel>" not in posted and "&lt;!channel&gt;" in posted  # the customer cannot page the team
        [root] = await posted_roots(pool, cid)

        reply = {"type": "message", "channel": CHANNEL, "user": "UADA", "text": NOTE, "ts": "1800000000.000200",
                 "thread_ts": root["ts"]}
        for attempt in range(2):  # Slack retries: one note
            assert await slack_event(gateway.url, reply, event_id=f"EvNote{attempt}") == 200
        stranger = {**reply, "user": "UOUT", "text": "I can take a look too", "ts": "1800000000.000300"}
        assert await slack_event(gateway.url, stranger, event_id="EvOut") == 200
        elsewhere = {**reply, "ts": "1800000000.000400", "thread_ts": "1700000000.000001", "text": "other thread"}
        assert await slack_event(gateway.url, elsewhere, event_id="EvElse") == 200
        ours = {**reply, "ts": "1800000000.000500", "text": "bot echo", "bot_id": "B0OURBOT"}
        assert await slack_event(gateway.url, ours, event_id="EvBot") == 200
        assert await slack_event(gateway.url, {**reply, "text": "forged"}, event_id="EvForged",
                                 secret="not-the-secret") == 401
        # The customer Slack endpoint does not know the internal workspace: its events are not customers'.
        assert await slack_event(gateway.url, {**reply, "text": "misrouted"}, event_id="EvCust",
                                 path="/slack/events") == 401

        notes = await seed.rows(pool, "SELECT author_kind, author_id, text, direction FROM messages"
                                " WHERE conversation_id = %s AND external_id LIKE 'slack-internal:%%' ORDER BY seq", cid)
        assert [(n["direction"], n["author_kind"], n["author_id"], n["text"]) for n in notes] == [
            ("internal", "agent", admin_id, NOTE), ("internal", "agent", None, "Contractor (via Slack): I can take a look too")]
        detail = await admin.get(f"/console/api/conversations/{cid}")
        assert NOTE in [m["text"] for m in detail["timeline"] if m["direction"] == "internal"]

        # Never to the customer: not pushed, not replayed, not in any customer-bound delivery.
        replay = await visitor.call("resume", {"conversation_id": cid, "last_seq": 0})
        assert all(NOTE not in m["text"] for m in replay["messages"])
        history = await visitor.call("history", {})
        assert NOTE not in json.dumps(history)
        assert all(NOTE not in json.dumps(m) for m in visitor.pushed)
        deliveries = await seed.rows(pool, "SELECT channel, payload FROM outbox WHERE tenant_id = %s", tenant.id)
        assert all(NOTE not in json.dumps(d["payload"]) for d in deliveries)
        assert {d["channel"] for d in deliveries if d["payload"].get("internal_slack")} == {"slack"}
    finally:
        await visitor.sio.disconnect()
        await admin.close()


async def test_later_escalations_reply_in_the_conversations_thread(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn,
) -> None:
    """The SLA ladder's rungs post too: the first summary starts the thread, the next replies in it."""
    await operator_points_at(pool, tenant, slack_api)
    await seed.agent(pool, tenant.id, "admin", role="admin", available=False)
    cid = await seed.conversation(pool, tenant.id, status="pending_agent", urgency="high")
    ladder = SlaLadder(pool, SkillRouter(clock=lambda: T0), base_url=gateway.url, on_event=lambda *_: None)
    await ladder.tick(tenant.id, now=T0 + timedelta(minutes=55))  # 90 %
    root = await posted_roots(pool, cid)
    await ladder.tick(tenant.id, now=T0 + timedelta(minutes=61))  # breach
    await poll_until(lambda: len(slack_api.calls_to("chat.postMessage")) == 2, within=20)
    first, second = slack_api.calls_to("chat.postMessage")
    assert "SLA at risk" in first.args["text"] and "SLA breached" in second.args["text"]
    assert not first.args.get("thread_ts") and second.args["thread_ts"] == root[0]["ts"]
    assert f"/console#/c/{cid}" in first.args["text"]
