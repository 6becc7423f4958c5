"""The team's internal Slack channel: escalation summaries out, thread replies back in as internal notes.

Apart from customer Slack on purpose: its own Events endpoint (``POST /slack/internal/events``, the
internal Slack app's Request URL), its own configuration per tenant (``store.internal_slack``), and
nothing it receives ever reaches ingest, the AI or the outbox. A reply in the thread under one of our
summaries becomes an internal note on that conversation, so it can never be sent to the customer.

Work is done before the ack, not after it as for customer Slack: the only slow step is ``users.info``
(to map the author to an agent by email), bounded here to :data:`LOOKUP_SECONDS` and cached, so the
answer stays inside Slack's 3 seconds; if Slack retries anyway, the note's key (``channel:ts``) is
checked under the conversation's row lock, so a retry never makes a second note.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack import MAX_CLOCK_SKEW_SECONDS, TS, RequestRejected, slack_text
from channels.slack_send import API_TIMEOUT_SECONDS, GetEnv, SlackDirectory, delivery_error
from store import conversations, internal_slack
from store.internal_slack import InternalSlack
from store.models import AuthorKind, Direction
from store.outbox import Delivery, PermanentDeliveryError, Sender, TransientDeliveryError
from store.slack_workspaces import Workspace

log = logging.getLogger("switchboard.slack_internal")
LOOKUP_SECONDS = 1.5
MAX_NOTE_CHARS = 20_000


def note_key(channel: str, ts: str) -> str:
    return f"slack-internal:{channel}:{ts}"


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def _as_workspace(c: InternalSlack) -> Workspace:
    """The directory's view of the internal workspace (users.info needs only the token and the base URL)."""
    return Workspace(0, c.tenant_id, c.team_id, "internal", c.bot_token_env, c.signing_secret_env, "", False,
                     c.api_base_url)


class InternalSlackSender:
    """store.outbox.Sender for ``internal_slack`` rows: the first summary of a conversation starts a thread
    in the channel, later ones reply in it; every posted ts is recorded so replies find their conversation."""

    def __init__(self, pool: AsyncConnectionPool, *, getenv: GetEnv = os.environ.get) -> None:
        self.pool = pool
        self.getenv = getenv

    async def send(self, delivery: Delivery) -> None:
        conv_id = delivery.payload.get("conversation_id")
        if not isinstance(conv_id, int):
            raise PermanentDeliveryError("internal Slack delivery without a conversation")
        async with self.pool.connection() as conn:
            config = await internal_slack.get(conn, delivery.tenant_id)
            thread = await internal_slack.thread_of(conn, delivery.tenant_id, conv_id, config.channel_id) \
                if config else None
        if config is None:
            raise PermanentDeliveryError("this tenant has no internal Slack channel any more")
        token = self.getenv(config.bot_token_env)
        if not token:
            raise PermanentDeliveryError(f"environment variable {config.bot_token_env} (internal Slack bot token)"
                                         " is not set")
        client = AsyncWebClient(token=token, base_url=config.api_base_url, timeout=API_TIMEOUT_SECONDS)
        body = delivery.payload.get("body") or {}
        try:
            resp = await client.chat_postMessage(channel=config.channel_id, thread_ts=thread,
                                                 text=body.get("text") or "", blocks=body.get("blocks"),
                                                 unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientDeliveryError(f"Slack unreachable: {type(exc).__name__}: {exc}") from None
        ts = str(resp.get("ts") or "")
        if TS.fullmatch(ts):
            async with self.pool.connection() as conn:
                await internal_slack.record_post(conn, delivery.tenant_id, config.channel_id, ts, conv_id)


class SlackDeliveries:
    """The Slack outbox's one sender: internal summaries to the internal channel, the rest to customers."""

    def __init__(self, customer: Sender, internal: Sender) -> None:
        self.customer = customer
        self.internal = internal

    async def send(self, delivery: Delivery) -> None:
        target = self.internal if delivery.payload.get("internal_slack") else self.customer
        await target.send(delivery)


class InternalSlackEvents:
    """``POST /slack/internal/events``: thread replies under our summaries become internal notes."""

    def __init__(self, pool: AsyncConnectionPool, *, getenv: GetEnv = os.environ.get,
                 directory: SlackDirectory | None = None, clock: Callable[[], float] = time.time) -> None:
        self.pool = pool
        self.getenv = getenv
        self.directory = directory or SlackDirectory(getenv=getenv)
        self.clock = clock

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/slack/internal/events", self.events)]

    def _check_signature(self, envs: list[str], request: web.Request, body: bytes) -> None:
        ts = request.headers.get("X-Slack-Request-Timestamp", "")
        if not ts.isdigit():
            raise RequestRejected(401, "bad_timestamp", "missing or malformed X-Slack-Request-Timestamp")
        if abs(self.clock() - int(ts)) > MAX_CLOCK_SKEW_SECONDS:
            raise RequestRejected(401, "stale_timestamp", "request timestamp is more than 5 minutes off")
        signature = request.headers.get("X-Slack-Signature", "")
        verifiers = [SignatureVerifier(s, _Clock(self.clock)) for s in map(self.getenv, envs) if s]
        if not any(v.is_valid(body, ts, signature) for v in verifiers):
            raise RequestRejected(401, "bad_signature", "signature matches no internal Slack app of this team")

    async def events(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            data = json.loads(body)
        except ValueError:
            return RequestRejected(400, "bad_json", "body is not JSON").response()
        if not isinstance(data, dict):
            return RequestRejected(400, "bad_json", "body is not a JSON object").response()
        team = data.get("team_id") if isinstance(data.get("team_id"), str) else None
        try:
            if data.get("type") != "url_verification" and not team:
                raise RequestRejected(401, "bad_signature", "no team_id to verify against")
            async with self.pool.connection() as conn:
                envs = await internal_slack.signing_secret_envs(conn, team)
            self._check_signature(envs, request, body)
        except RequestRejected as exc:
            return exc.response()
        if data.get("type") == "url_verification":
            return web.json_response({"challenge": str(data.get("challenge") or "")})
        event = data.get("event")
        if data.get("type") == "event_callback" and isinstance(event, dict) and team:
            outcome = await self.process(team, event)
            log.info("internal Slack event %s: %s", str(data.get("event_id"))[:40], outcome)
        return web.Response(status=200)

    async def process(self, team_id: str, event: Mapping[str, Any]) -> str:
        """What became of one event (for the log); idempotent, as Slack may deliver it again."""
        if event.get("type") != "message" or event.get("subtype") not in (None, "thread_broadcast"):
            return f"ignored: {event.get('type')}/{event.get('subtype')}"
        if event.get("bot_id") or event.get("bot_profile"):
            return "ignored: a bot (our own summaries included)"
        channel, ts, thread_ts = (str(event.get(k) or "") for k in ("channel", "ts", "thread_ts"))
        user = str(event.get("user") or "")
        if not channel or not user or not TS.fullmatch(ts) or not TS.fullmatch(thread_ts) or ts == thread_ts:
            return "ignored: not a reply in a thread"
        async with self.pool.connection() as conn:
            config = await internal_slack.by_team_channel(conn, team_id, channel)
            conv_id = await internal_slack.conversation_for_thread(conn, config.tenant_id, channel, thread_ts) \
                if config else None
        if config is None or conv_id is None:
            return "ignored: not a thread under one of our summaries"
        text = slack_text(str(event.get("text") or "")).replace("\x00", "")[:MAX_NOTE_CHARS]
        if not text:
            return "ignored: empty"
        name, agent_id = await self._author(config, user)
        if agent_id is None:  # nobody to show as the author: say who wrote it in the note itself
            text = f"{name or user} (via Slack): {text}"
        key = note_key(channel, ts)
        async with self.pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, config.tenant_id, conv_id, lock=True)
            cur = await conn.execute("SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = %s"
                                     " AND external_id = %s", (config.tenant_id, conv_id, key))
            if await cur.fetchone() is not None:
                return "duplicate"
            msg = await conversations.append_message(
                conn, config.tenant_id, conv_id, direction=Direction.INTERNAL, author_kind=AuthorKind.AGENT,
                author_id=agent_id, channel=conv.last_channel, text=text, external_id=key,
                raw={"internal_slack": {"team_id": team_id, "channel": channel, "ts": ts, "thread_ts": thread_ts,
                                        "user": user, "name": name}})
        return f"note {msg.id} on conversation {conv_id}"

    async def _author(self, config: InternalSlack, user: str) -> tuple[str | None, int | None]:
        """(Slack name, agent id) — the agent whose email is the Slack profile's, when there is one."""
        try:
            profile = await asyncio.wait_for(self.directory.profile(_as_workspace(config), user), LOOKUP_SECONDS)
        except TimeoutError:
            return None, None
        if profile is None:
            return None, None
        agent_id = None
        if profile.email:
            async with self.pool.connection() as conn:
                cur = await conn.execute("SELECT id FROM agents WHERE tenant_id = %s AND email = %s",
                                         (config.tenant_id, profile.email.strip().lower()))
                row = await cur.fetchone()
            agent_id = int(row["id"]) if row else None
        return profile.name, agent_id
