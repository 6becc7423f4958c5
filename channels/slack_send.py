"""Slack's Web API boundary: clients per workspace, the users.info cache, and the outbound sender.

Everything that talks to slack.com is here and in ``channels/slack_files.py`` (file downloads and
uploads), behind slack-sdk's ``AsyncWebClient``, whose ``base_url`` comes from the workspace row
(GovSlack lives elsewhere; tests use a local stand-in).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from psycopg_pool import AsyncConnectionPool
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack_files import upload_into_thread
from store import attachments, slack_workspaces
from store.outbox import Delivery, PermanentDeliveryError, TransientDeliveryError
from store.slack_workspaces import Workspace

log = logging.getLogger("switchboard.slack")
GetEnv = Callable[[str], str | None]
API_TIMEOUT_SECONDS = 10  # well inside the dispatcher's send timeout, so a hung call is ours to report
# Errors that no retry can fix; shown to agents on the delivery.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
    "not_authed", "missing_scope", "is_archived", "channel_is_archived", "restricted_action", "invalid_blocks",
    "invalid_arguments", "msg_too_long", "no_text", "team_access_not_granted", "ekm_access_denied",
})
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                              "request_timeout", "team_added_to_org"})


class MissingSecret(LookupError):
    """The environment variable a workspace names is not set in this process."""


def web_client(ws: Workspace, getenv: GetEnv = os.environ.get) -> AsyncWebClient:
    """A client with the workspace's bot token; connection errors retried once by slack-sdk itself.

    No rate-limit retry handler on purpose: it would sleep inside the send, holding a dispatcher
    slot; a 429 goes back to the outbox with its Retry-After instead.
    """
    token = getenv(ws.bot_token_env)
    if not token:
        raise MissingSecret(f"environment variable {ws.bot_token_env} (bot token of Slack team {ws.team_id}) is not set")
    return AsyncWebClient(token=token, base_url=ws.api_base_url, timeout=API_TIMEOUT_SECONDS,
                          retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)])


@dataclass(frozen=True, slots=True)
class SlackProfile:
    email: str | None
    name: str | None
    email_confirmed: bool | None  # users.info's is_email_confirmed; None when Slack did not say
    team_id: str | None


class SlackDirectory:
    """users.info, cached per workspace and user with a TTL, in process.

    In process rather than a table: the answer is a cache, not a record (what we concluded from it is
    stored as identities), so losing it costs one call per user per process; a table would add a
    write per event, a pruning job and another copy of people's emails. Failures are cached briefly
    so a Slack outage does not turn every event into a slow call, and never block the message.
    """

    def __init__(self, *, getenv: GetEnv = os.environ.get, ttl_seconds: float = 3600, failure_ttl_seconds: float = 60,
                 max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.getenv = getenv
        self.ttl = ttl_seconds
        self.failure_ttl = failure_ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, SlackProfile | None]] = {}

    async def profile(self, ws: Workspace, user: str) -> SlackProfile | None:
        key = (ws.team_id, user)
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            resp = await web_client(ws, self.getenv).users_info(user=user)
        except (SlackApiError, MissingSecret, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info failed for %s in %s: %s", user, ws.team_id, exc)
            self._store(key, now + self.failure_ttl, None)
            return None
        data: Mapping[str, Any] = resp.get("user") or {}
        prof: Mapping[str, Any] = data.get("profile") or {}
        found = SlackProfile(
            email=prof.get("email") or None,
            name=prof.get("real_name") or prof.get("display_name") or data.get("real_name") or data.get("name"),
            email_confirmed=data.get("is_email_confirmed"),
            team_id=data.get("team_id"),
        )
        self._store(key, now + self.ttl, found)
        return found

    def _store(self, key: tuple[str, str], expires: float, value: SlackProfile | None) -> None:
        if len(self._cache) >= self.max_entries:
            for old in list(self._cache)[: self.max_entries // 10 or 1]:  # oldest inserted first
                self._cache.pop(old, None)
        self._cache.pop(key, None)
        self._cache[key] = (expires, value)


def delivery_error(exc: SlackApiError) -> Exception:
    """Slack's answer mapped onto the outbox's two kinds of failure."""
    status = exc.response.status_code
    error = str(exc.response.get("error") or f"http_{status}")
    headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
    if status == 429 or error == "ratelimited":
        try:
            retry_after = max(0.0, float(headers.get("retry-after", "1")))
        except ValueError:
            retry_after = 1.0
        return TransientDeliveryError(f"Slack rate limited: {error}", retry_after=retry_after)
    if error in PERMANENT_ERRORS:
        return PermanentDeliveryError(f"Slack refused: {error}")
    if error in TRANSIENT_ERRORS or status >= 500:
        return TransientDeliveryError(f"Slack error: {error} (HTTP {status})")
    return PermanentDeliveryError(f"Slack refused: {error} (HTTP {status})")


class SlackSender:
    """store.outbox.Sender: posts a reply into the Slack thread of the message it answers."""

    def __init__(self, pool: AsyncConnectionPool, *, getenv: GetEnv = os.environ.get) -> None:
        self.pool = pool
        self.getenv = getenv

    async def send(self, delivery: Delivery) -> None:
        p = delivery.payload
        conv_id = p.get("conversation_id")
        if conv_id is None:
            raise PermanentDeliveryError("Slack delivery without a conversation")
        async with self.pool.connection() as conn:
            target = await slack_workspaces.reply_target(conn, delivery.tenant_id, conv_id, p.get("answers_message_id"))
            ws = await slack_workspaces.get(conn, delivery.tenant_id, target["team_id"]) if target else None
        if target is None:
            raise PermanentDeliveryError("this conversation has no Slack thread to reply in")
        if ws is None:
            raise PermanentDeliveryError(f"Slack team {target['team_id']} is no longer registered for this tenant")
        try:
            client = web_client(ws, self.getenv)
        except MissingSecret as exc:
            raise PermanentDeliveryError(str(exc)) from None
        body = p.get("body") or {}
        files: list[tuple[attachments.Attachment, bytes]] = []
        if delivery.message_id is not None:  # files an agent sent with the reply (linked in its transaction)
            async with self.pool.connection() as conn:
                files = await attachments.for_message(conn, delivery.tenant_id, delivery.message_id)
        try:
            if files:
                await upload_into_thread(client, channel=target["channel"], thread_ts=target["thread_ts"],
                                         text=body.get("text") or "", files=files)
            else:
                await client.chat_postMessage(channel=target["channel"], thread_ts=target["thread_ts"],
                                              text=body.get("text") or "", blocks=body.get("blocks"),
                                              unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            raise delivery_error(exc) from None
        except SlackRequestError as exc:  # the upload_url refused the bytes: Slack's file service, retried
            raise TransientDeliveryError(f"Slack file upload failed: {exc}"[:500]) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientDeliveryError(f"Slack unreachable: {type(exc).__name__}: {exc}") from None
