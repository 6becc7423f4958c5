"""Outgoing webhook deliveries: the outbox's sender for ``Channel.WEBHOOK``.

Each attempt POSTs the event's JSON with
- ``Webhook-Id``: the event id, the same on every retry, so a receiver that stores the ids it has
  processed gets an exactly-once effect from at-least-once delivery;
- ``Webhook-Timestamp`` and ``Switchboard-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
  HMAC-SHA256 with the subscription's secret over ``"<t>.<raw body>"``; the timestamp is the send
  time, so a receiver can refuse old (replayed) deliveries.

A 2xx is success; anything else (or no answer) is a failure retried by the dispatcher with backoff,
sooner when the receiver sends ``Retry-After``. Failures in a row are counted per subscription; at
``disable_after`` the subscription is disabled (``store.webhooks.record_failure``) and the tenant's
admins are told, in the same transaction, through the console's notifications and an email (the
same path as SLA notices), because a silent disable looks to the receiver like a quiet day. Redirects
are not followed: a subscription names the URL that is called.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from gateway.ops.notify import notify_agents
from store import routing, webhooks
from store.outbox import Delivery, PermanentDeliveryError, TransientDeliveryError
from store.webhooks import Subscription

MAX_RETRY_AFTER_SECONDS = 3600.0
USER_AGENT = "Switchboard-Webhooks/1"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def body_bytes(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _retry_after(value: str | None) -> float | None:
    try:
        return min(MAX_RETRY_AFTER_SECONDS, max(0.0, float(value))) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


NOTICE_KIND = "webhook_disabled"


async def notify_disabled(conn: AsyncConnection[Any], sub: Subscription) -> None:
    """Tells every admin of the tenant, once per disable (a re-enabled subscription that fails again
    is news again, hence the disable time in the dedupe key)."""
    assert sub.disabled_at is not None
    admins = await routing.agents_with_role(conn, sub.tenant_id, ("admin",))
    body = (f"Deliveries to {sub.url} stopped: {sub.disabled_reason}. Its pending deliveries were marked"
            " failed and no events are queued for it while it is off. Fix the receiver, then send"
            f' PATCH /api/v1/webhooks/{sub.id} {{"enabled": true}} to turn it back on.')
    await notify_agents(conn, sub.tenant_id, admins, kind=NOTICE_KIND, title=f"Webhook {sub.id} disabled: {sub.url}",
                        body=body, dedupe_key=f"webhook:{sub.id}:disabled:{sub.disabled_at.isoformat()}",
                        now=sub.disabled_at)


class WebhookSender:
    def __init__(self, pool: AsyncConnectionPool, *, disable_after: int, timeout_seconds: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.pool = pool
        self.disable_after = disable_after
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.clock = clock

    async def send(self, delivery: Delivery) -> None:
        sub_id = int(delivery.payload["subscription_id"])
        event = delivery.payload["event"]
        async with self.pool.connection() as conn:
            sub = await webhooks.get(conn, delivery.tenant_id, sub_id)
        if sub is None:
            raise PermanentDeliveryError(f"webhook subscription {sub_id} was deleted")
        if not sub.enabled:
            raise PermanentDeliveryError(f"webhook subscription {sub_id} is disabled: {sub.disabled_reason}")
        body = body_bytes(event)
        ts = str(int(self.clock()))
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Webhook-Id": str(event["id"]),
                   "Webhook-Timestamp": ts, "Switchboard-Signature": f"t={ts},v1={signature(sub.secret, ts, body)}"}
        retry_after: float | None = None
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session, \
                    session.post(sub.url, data=body, headers=headers, allow_redirects=False) as resp:
                if 200 <= resp.status < 300:
                    async with self.pool.connection() as conn:
                        await webhooks.record_success(conn, delivery.tenant_id, sub_id)
                    return
                error = f"HTTP {resp.status}"
                retry_after = _retry_after(resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        async with self.pool.connection() as conn, conn.transaction():
            disabled = await webhooks.record_failure(conn, delivery.tenant_id, sub_id, error,
                                                     disable_after=self.disable_after)
            if disabled is not None:
                await notify_disabled(conn, disabled)
        if disabled is not None:
            raise PermanentDeliveryError(f"{error}; subscription disabled after {self.disable_after} failures")
        raise TransientDeliveryError(error, retry_after=retry_after)
