"""Slack: the Events API and interactivity endpoints, for any number of workspaces per tenant.

``POST /slack/events`` and ``POST /slack/interactivity``. The ``team_id`` in the body routes a request
to its workspace and tenant, and the request must be signed with that workspace's signing secret.

Ack first, work after. Slack retries anything not answered in 3 seconds, and the work includes a
``users.info`` call of unbounded latency, so the request handler only verifies, records the event in
``slack_events`` (one insert, which is also the dedupe by ``event_id``) and answers 200; the work
runs in a task right after. The row is the durable hand-off: if this process dies between the ack and
the end of the work, the event is still pending and the sweeper (any process) redoes it once its
lease expires. Redoing is safe because every effect is idempotent: messages are keyed by Slack's
own message identity ``channel:ts`` (not the event id: the ``message`` and ``app_mention`` events for
one message, or one message seen from two workspaces in a shared channel, carry different event
ids), and edits and deletions converge to the same row state.

Which messages become conversations: DMs, mentions of our bot, and replies in a thread that already
is a conversation. Everything else in a channel is other people talking, not support. One Slack
thread is one conversation (key ``channel:thread_ts``), shared by everyone in it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from slack_sdk.signature import Clock, SignatureVerifier

from channels.ports import CustomerActions, Ingest
from channels.slack_files import Fetched, SlackFile, SlackFileFetcher, parse_files
from channels.slack_send import GetEnv, SlackDirectory, SlackSender
from store import attachments, conversations, message_edits, slack_workspaces
from store.models import (
    UNSTORABLE,
    AttachmentMeta,
    Channel,
    ClaimSource,
    IdentityClaim,
    IdentityKind,
    InboundMessage,
    ThreadHint,
)
from store.slack_workspaces import Workspace

log = logging.getLogger("switchboard.slack")
MAX_CLOCK_SKEW_SECONDS = 60 * 5
ACTION_IDS = re.compile(r"talk_to_human|solved|csat_[1-5]")
INGESTED_SUBTYPES = (None, "thread_broadcast", "file_share")
MAX_EVENT_ATTEMPTS = 5
TS = re.compile(r"\d{1,12}(\.\d{1,9})?")


@dataclass(frozen=True, slots=True)
class Decision:
    """What one Slack event means for us; pure, so every sample payload can be checked offline."""

    kind: str  # "ingest" | "edit" | "delete" | "ignore"
    reason: str = ""
    channel: str = ""
    ts: str = ""
    thread_ts: str | None = None
    user: str = ""
    user_team: str | None = None
    text: str = ""
    addressed: bool = False  # a DM or a mention: may start a conversation
    files: tuple[SlackFile, ...] = ()


def thread_key(channel: str, thread_ts: str) -> str:
    return f"{channel}:{thread_ts}"


def message_external_id(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def slack_text(text: str, bot_user_id: str = "") -> str:
    """Slack's wire text back to what the person typed: our mention dropped, the three entities decoded."""
    if bot_user_id:
        text = re.sub(rf"^\s*<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[\s:,]*", "", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _obj(value: Any) -> Mapping[str, Any]:
    """Slack's JSON is input like any other: a field that should be an object may not be."""
    return value if isinstance(value, Mapping) else {}


def _from_bot(m: Mapping[str, Any], bot_user_id: str) -> bool:
    return bool(m.get("bot_id") or m.get("bot_profile") or m.get("subtype") == "bot_message"
                or (bot_user_id and m.get("user") == bot_user_id))


def decide(event: Mapping[str, Any], bot_user_id: str) -> Decision:
    """Bots (ours included) are never answered, so two bots cannot talk each other into a loop."""
    etype = event.get("type")
    if etype not in ("message", "app_mention"):
        return Decision("ignore", f"event type {etype!r}")
    subtype = event.get("subtype") or None
    channel = str(event.get("channel") or "")
    if subtype == "message_changed":
        new = _obj(event.get("message"))
        old = _obj(event.get("previous_message"))
        ts = str(new.get("ts") or old.get("ts") or "")
        if _from_bot(new, bot_user_id) or _from_bot(old, bot_user_id):
            return Decision("ignore", "a bot's message changed")
        if not channel or not TS.fullmatch(ts):
            return Decision("ignore", "message_changed without channel or ts")
        return Decision("edit", channel=channel, ts=ts, user=str(new.get("user") or ""),
                        text=slack_text(str(new.get("text") or ""), bot_user_id))
    if subtype == "message_deleted":
        ts = str(event.get("deleted_ts") or _obj(event.get("previous_message")).get("ts") or "")
        if not channel or not TS.fullmatch(ts):
            return Decision("ignore", "message_deleted without channel or ts")
        return Decision("delete", channel=channel, ts=ts)
    if _from_bot(event, bot_user_id):
        return Decision("ignore", "from a bot")
    if subtype not in INGESTED_SUBTYPES:
        return Decision("ignore", f"message subtype {subtype!r}")
    user, ts = str(event.get("user") or ""), str(event.get("ts") or "")
    if not channel or not user or not TS.fullmatch(ts):
        return Decision("ignore", "message without channel, user or ts")
    addressed = etype == "app_mention" or event.get("channel_type") == "im"
    thread_ts = str(event["thread_ts"]) if TS.fullmatch(str(event.get("thread_ts") or "")) else None
    if not addressed and thread_ts is None:
        return Decision("ignore", "channel message not addressed to us")
    files = parse_files(event.get("files"))
    return Decision("ingest", channel=channel, ts=ts, thread_ts=thread_ts, user=user,
                    user_team=str(event.get("user_team") or event.get("team") or "") or None,
                    text=slack_text(str(event.get("text") or ""), bot_user_id), addressed=addressed, files=files)




def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(raw: str | bytes) -> Any:
    """Slack's JSON as PostgreSQL's jsonb takes it: no NaN/Infinity, no NUL, no unpaired surrogates.

    Python's json accepts all three; stored as the event's payload they would fail the insert (a 500
    that Slack retries forever) instead of a 400 now.
    """
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    stack = [data]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if UNSTORABLE.search(v):
                raise ValueError("NUL or unpaired surrogate in a string")
        elif isinstance(v, dict):
            stack.extend(v.values())
            stack.extend(v.keys())
        elif isinstance(v, list):
            stack.extend(v)
    return data


class RequestRejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def response(self) -> web.Response:
        return web.json_response({"error": {"code": self.code, "message": str(self)}}, status=self.status)


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class SlackChannel:
    """The Slack adapter: both endpoints, the post-ack worker and its sweeper, and the sender."""

    def __init__(self, pool: AsyncConnectionPool, *, ingest: Ingest, actions: CustomerActions,
                 getenv: GetEnv = os.environ.get, directory: SlackDirectory | None = None,
                 clock: Callable[[], float] = time.time, lease_seconds: float = 60,
                 sweep_interval_seconds: float = 15, keep_event_ids_seconds: float = 86400,
                 limits: attachments.Limits = attachments.DEFAULT_LIMITS) -> None:
        self.pool = pool
        self.ingest = ingest
        self.actions = actions
        self.getenv = getenv
        self.directory = directory or SlackDirectory(getenv=getenv)
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.sweep_interval = sweep_interval_seconds
        self.keep_event_ids = keep_event_ids_seconds
        self.sender = SlackSender(pool, getenv=getenv)
        self.files = SlackFileFetcher(limits)
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/slack/events", self.events), web.post("/slack/interactivity", self.interactivity)]

    def attach(self, app: web.Application) -> None:
        app.add_routes(self.routes())
        app.cleanup_ctx.append(self._lifecycle)

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(self.sweep_forever(), name="slack-sweeper")
        yield
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        if self._tasks:  # unfinished work stays pending in slack_events; a sweeper redoes it
            await asyncio.wait(set(self._tasks), timeout=5)

    # -- verification ---------------------------------------------------------------------------------
    def _check_timestamp(self, request: web.Request) -> str:
        ts = request.headers.get("X-Slack-Request-Timestamp", "")
        if not ts.isdigit():
            raise RequestRejected(401, "bad_timestamp", "missing or malformed X-Slack-Request-Timestamp")
        if abs(self.clock() - int(ts)) > MAX_CLOCK_SKEW_SECONDS:
            raise RequestRejected(401, "stale_timestamp", "request timestamp is more than 5 minutes off")
        return ts

    def _signed_with(self, env_name: str, body: bytes, ts: str, signature: str) -> bool:
        secret = self.getenv(env_name)
        if not secret:
            log.error("environment variable %s (a Slack signing secret) is not set", env_name)
            return False
        return SignatureVerifier(secret, _Clock(self.clock)).is_valid(body, ts, signature)

    async def _verify(self, request: web.Request, body: bytes, team_id: Any) -> Workspace:
        """The workspace named in the body, if and only if the request is signed with its secret."""
        ts = self._check_timestamp(request)
        ws = None
        if isinstance(team_id, str) and team_id:
            async with self.pool.connection() as conn:
                ws = await slack_workspaces.by_team(conn, team_id)
        signature = request.headers.get("X-Slack-Signature", "")
        if ws is None or not self._signed_with(ws.signing_secret_env, body, ts, signature):
            log.warning("rejected Slack request for team %r: unknown team or bad signature", team_id)
            raise RequestRejected(401, "bad_signature", "signature does not match the workspace's signing secret")
        return ws

    async def _verify_any(self, request: web.Request, body: bytes) -> None:
        """``url_verification`` names no team: any registered secret will do, as it only echoes a challenge."""
        ts = self._check_timestamp(request)
        async with self.pool.connection() as conn:
            envs = await slack_workspaces.signing_secret_envs(conn)
        signature = request.headers.get("X-Slack-Signature", "")
        if not any(self._signed_with(env, body, ts, signature) for env in envs):
            raise RequestRejected(401, "bad_signature", "signature matches no registered workspace")

    # -- Events API -------------------------------------------------------------------------------------
    async def events(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            data = strict_json(body)
        except ValueError as exc:
            return RequestRejected(400, "bad_json", f"body is not storable JSON: {exc}"[:200]).response()
        if not isinstance(data, dict):
            return RequestRejected(400, "bad_json", "body is not a JSON object").response()
        try:
            if data.get("type") == "url_verification":
                await self._verify_any(request, body)
                return web.json_response({"challenge": str(data.get("challenge") or "")})
            ws = await self._verify(request, body, data.get("team_id"))
        except RequestRejected as exc:
            return exc.response()
        event_id = data.get("event_id")
        event = data.get("event")
        if data.get("type") != "event_callback" or not isinstance(event_id, str) or not isinstance(event, dict):
            log.info("acknowledged Slack request of type %r without acting on it", data.get("type"))
            return web.Response(status=200)
        async with self.pool.connection() as conn:
            fresh = await slack_workspaces.accept_event(conn, ws.tenant_id, ws.team_id, event_id,
                                                        str(event.get("type") or ""), data,
                                                        lease_seconds=self.lease_seconds)
        if fresh:
            task = asyncio.create_task(self._run(ws.tenant_id, ws.team_id, event_id, data, 0))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            log.info("duplicate Slack event %s (retry %s, reason %s)", event_id,
                     request.headers.get("X-Slack-Retry-Num"), request.headers.get("X-Slack-Retry-Reason"))
        return web.Response(status=200)

    async def _run(self, tenant_id: int, team_id: str, event_id: str, data: dict[str, Any], attempts: int) -> None:
        try:
            ignored, outcome = await self.process(tenant_id, team_id, data)
        except Exception as exc:
            log.exception("Slack event %s failed (attempt %d)", event_id, attempts + 1)
            async with self.pool.connection() as conn:
                await slack_workspaces.retry_event(conn, tenant_id, team_id, event_id, f"{type(exc).__name__}: {exc}",
                                                   retry_in=min(600.0, 5.0 * 2**attempts),
                                                   max_attempts=MAX_EVENT_ATTEMPTS)
            return
        if ignored:
            log.info("Slack event %s ignored: %s", event_id, outcome)
        async with self.pool.connection() as conn:
            await slack_workspaces.finish_event(conn, tenant_id, team_id, event_id, ignored=ignored, outcome=outcome)

    async def process(self, tenant_id: int, team_id: str, data: Mapping[str, Any]) -> tuple[bool, str]:
        """(ignored, outcome) for one event; idempotent, because the sweeper may run it again."""
        async with self.pool.connection() as conn:
            ws = await slack_workspaces.get(conn, tenant_id, team_id)
        if ws is None:
            return True, "workspace no longer registered"
        d = decide(_obj(data.get("event")), ws.bot_user_id)
        stamp = data.get("event_time")
        sane = isinstance(stamp, int | float) and 0 <= stamp < 2**33  # within datetime's range
        when = datetime.fromtimestamp(stamp if sane else self.clock(), UTC)
        if d.kind == "ignore":
            return True, d.reason
        if d.kind in ("edit", "delete"):
            ext = message_external_id(d.channel, d.ts)
            actor = f"slack:{team_id}:{d.user}" if d.user else f"slack:{team_id}"
            async with self.pool.connection() as conn, conn.transaction():
                if d.kind == "edit":
                    changed = await message_edits.apply_edit(conn, tenant_id, Channel.SLACK, ext, d.text,
                                                             edited_at=when, actor=actor)
                else:
                    changed = await message_edits.mark_deleted(conn, tenant_id, Channel.SLACK, ext,
                                                               deleted_at=when, actor=actor)
            return changed is None, f"{d.kind} of message {changed}" if changed else f"{d.kind}: no stored message {ext}"
        key = thread_key(d.channel, d.thread_ts or d.ts)
        if not d.addressed:
            async with self.pool.connection() as conn:
                if await conversations.find_by_thread_keys(conn, tenant_id, Channel.SLACK, [key]) is None:
                    return True, "thread reply outside our conversations"
        ext = message_external_id(d.channel, d.ts)
        fetched = await self.fetch_files(ws, ext, d.files)
        msg = InboundMessage(
            tenant_id=tenant_id, channel=Channel.SLACK, external_id=ext, text=d.text,
            claims=await self.claims(ws, d), thread=ThreadHint(keys=(key,), new_key=key, shared_space=True),
            attachments=fetched.files, received_at=datetime.fromtimestamp(float(d.ts), UTC),
            raw={"slack": {"team_id": team_id, "event_id": data.get("event_id"), "channel": d.channel, "ts": d.ts,
                           "thread_ts": d.thread_ts or d.ts, "user": d.user, "user_team": d.user_team},
                 "event": data.get("event")},
        )
        result = await self.ingest(msg)
        return False, f"message {result.message_id}" + (" (already stored)" if result.duplicate else "")

    async def fetch_files(self, ws: Workspace, external_id: str, files: tuple[SlackFile, ...]) -> Fetched:
        """The message's files with their bytes, unless the message is stored already.

        One message arrives as several events (``message`` and ``app_mention``, or one per workspace
        in a shared channel); only the first to be stored needs the bytes, the rest would download
        them to be dropped as duplicates. A file kept out carries its reason into ingest, so it is
        listed with why in the message's own transaction.
        """
        if not files:
            return Fetched()
        async with self.pool.connection() as conn:
            stored = await conversations.find_message_by_external_id(conn, ws.tenant_id, Channel.SLACK, external_id)
        if stored is not None:
            return Fetched(tuple(AttachmentMeta(f.name, f.mimetype, f.size) for f in files))
        return await self.files.fetch(ws, self.getenv(ws.bot_token_env), files)

    async def claims(self, ws: Workspace, d: Decision) -> tuple[IdentityClaim, ...]:
        """The Slack user always; their profile email merges only if a workspace we trust vouches for it.

        The voucher is the user's home workspace: in a shared channel a guest from another company
        writes through our workspace, but only their own workspace's admins verified their email.
        """
        user_team = d.user_team or ws.team_id
        profile = await self.directory.profile(ws, d.user)
        name = profile.name if profile else None
        found = [IdentityClaim(IdentityKind.SLACK_USER, f"{user_team}:{d.user}", ClaimSource.SLACK_USER, name)]
        if profile is None or not profile.email:
            return tuple(found)
        home = ws
        if user_team != ws.team_id:
            async with self.pool.connection() as conn:
                home = await slack_workspaces.get(conn, ws.tenant_id, user_team)
        vouched = home is not None and home.verifies_emails and profile.email_confirmed is not False
        source = (ClaimSource.SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE if vouched
                  else ClaimSource.SLACK_PROFILE_EMAIL_OTHER_WORKSPACE)
        found.append(IdentityClaim(IdentityKind.EMAIL, profile.email, source, name))
        return tuple(found)

    # -- after a crash ----------------------------------------------------------------------------------
    async def sweep_once(self) -> int:
        """Redoes events whose worker died after the ack (lease expired while still pending)."""
        async with self.pool.connection() as conn:
            stale = await slack_workspaces.claim_stale_events(conn, limit=50, lease_seconds=self.lease_seconds)
        for ev in stale:
            await self._run(ev.tenant_id, ev.team_id, ev.event_id, ev.payload, ev.attempts)
        return len(stale)

    async def sweep_forever(self) -> None:
        last_prune = 0.0
        while True:
            try:
                await self.sweep_once()
                if time.monotonic() - last_prune > 3600:
                    async with self.pool.connection() as conn:
                        await slack_workspaces.prune_events(conn, older_than_seconds=self.keep_event_ids)
                    last_prune = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Slack sweeper pass failed")
            await asyncio.sleep(self.sweep_interval)  # a periodic timer, not synchronization

    # -- interactivity ----------------------------------------------------------------------------------
    async def interactivity(self, request: web.Request) -> web.Response:
        """Button presses, done before answering: one short transaction, well inside Slack's 3 seconds."""
        body = await request.read()
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            payload = strict_json(form.get("payload", [""])[0])
        except ValueError as exc:
            return RequestRejected(400, "bad_payload", f"payload is not storable JSON: {exc}"[:200]).response()
        if not isinstance(payload, dict):
            return RequestRejected(400, "bad_payload", "payload is not a JSON object").response()
        team_id = _obj(payload.get("team")).get("id") or _obj(payload.get("user")).get("team_id")
        try:
            ws = await self._verify(request, body, team_id)
        except RequestRejected as exc:
            return exc.response()
        if payload.get("type") != "block_actions":
            log.info("acknowledged Slack interaction of type %r without acting on it", payload.get("type"))
            return web.Response(status=200)
        container, message = _obj(payload.get("container")), _obj(payload.get("message"))
        channel = str(container.get("channel_id") or _obj(payload.get("channel")).get("id") or "")
        thread_ts = str(container.get("thread_ts") or message.get("thread_ts") or container.get("message_ts") or "")
        user = str(_obj(payload.get("user")).get("id") or "")
        for action in map(_obj, payload.get("actions") or []):
            action_id, value = str(action.get("action_id") or ""), str(action.get("value") or "")
            if not ACTION_IDS.fullmatch(action_id) or not value.isdigit():
                log.info("ignored Slack action %r", action_id[:60])
                continue
            conv_id = int(value)
            if not await self._pressed_in_its_thread(ws.tenant_id, conv_id, channel, thread_ts):
                log.warning("Slack action %s on conversation %s from %s:%s outside its thread; ignored",
                            action_id, conv_id, ws.team_id, channel)
                continue
            await self.actions(ws.tenant_id, conv_id, action_id, actor=f"slack:{ws.team_id}:{user}")
        return web.Response(status=200)

    async def _pressed_in_its_thread(self, tenant_id: int, conv_id: int, channel: str, thread_ts: str) -> bool:
        """The button's conversation must be this tenant's and the very thread the button sits in.

        The value is only a number someone could edit; the thread it was pressed in is Slack's word.
        """
        if not channel or not thread_ts:
            return False
        async with self.pool.connection() as conn:
            found = await conversations.find_by_thread_keys(conn, tenant_id, Channel.SLACK,
                                                            [thread_key(channel, thread_ts)])
        return found == conv_id
