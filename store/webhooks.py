"""Outgoing webhook subscriptions and the events they receive, delivered as outbox rows.

``emit`` is called where each event happens, on the caller's connection, so an event is queued if
and only if the change it reports commits. It writes one outbox row per enabled subscription to the
event type in a single ``INSERT … SELECT``, so a tenant without subscriptions pays one indexed
lookup and nothing else. The event id is the receiver's idempotency key (the ``Webhook-Id``
header): it is fixed when the event is emitted and every retry carries it.

The signing secret is stored as given (HMAC needs it); the API returns it once, at creation.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from store import audit
from store.models import Conversation, Message

EVENT_TYPES = ("conversation.created", "message.created", "conversation.escalated", "sla.breached",
               "conversation.resolved", "csat.received")
CHANNEL = "webhook"  # store.models.Channel.WEBHOOK; the outbox's channel column for these rows
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    tenant_id: int
    url: str
    events: tuple[str, ...]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    created_by: str
    created_at: datetime
    secret: str


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(row["id"], row["tenant_id"], row["url"], tuple(row["events"]), row["description"],
                        row["enabled"], row["disabled_reason"], row["disabled_at"], row["consecutive_failures"],
                        row["created_by"], row["created_at"], row["secret"])


def _check_events(events: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(events))
    unknown = [e for e in unique if e not in EVENT_TYPES]
    if unknown or not unique:
        raise ValueError(f"events must be a non-empty subset of {', '.join(EVENT_TYPES)}")
    return unique


async def create(conn: AsyncConnection[Any], tenant_id: int, *, url: str, events: Sequence[str],
                 created_by: str, description: str | None = None) -> Subscription:
    cur = await conn.execute(
        "INSERT INTO webhook_subscriptions (tenant_id, url, secret, events, description, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *",
        (tenant_id, url, SECRET_PREFIX + secrets.token_urlsafe(32), _check_events(events), description, created_by))
    row = await cur.fetchone()
    assert row is not None
    await audit.record(conn, tenant_id, actor=created_by, action="webhook.created", subject_type="webhook",
                       subject_id=row["id"], details={"url": url, "events": list(row["events"])})
    return _subscription(row)


async def get(conn: AsyncConnection[Any], tenant_id: int, subscription_id: int) -> Subscription | None:
    cur = await conn.execute("SELECT * FROM webhook_subscriptions WHERE tenant_id = %s AND id = %s",
                             (tenant_id, subscription_id))
    row = await cur.fetchone()
    return _subscription(row) if row else None


async def list_for(conn: AsyncConnection[Any], tenant_id: int, *, limit: int = 100) -> list[Subscription]:
    cur = await conn.execute("SELECT * FROM webhook_subscriptions WHERE tenant_id = %s ORDER BY id LIMIT %s",
                             (tenant_id, limit))
    return [_subscription(r) for r in await cur.fetchall()]


async def update(conn: AsyncConnection[Any], tenant_id: int, subscription_id: int, *, actor: str,
                 url: str | None = None, events: Sequence[str] | None = None, description: str | None = None,
                 enabled: bool | None = None) -> Subscription | None:
    """Changes what is given; enabling again clears the failure count and the reason it was disabled."""
    cur = await conn.execute(
        "UPDATE webhook_subscriptions SET url = coalesce(%s, url), events = coalesce(%s, events),"
        " description = coalesce(%s, description), enabled = coalesce(%s, enabled),"
        " consecutive_failures = CASE WHEN %s THEN 0 ELSE consecutive_failures END,"
        " disabled_reason = CASE WHEN %s THEN NULL WHEN %s THEN 'disabled by ' || %s ELSE disabled_reason END,"
        " disabled_at = CASE WHEN %s THEN NULL WHEN %s THEN now() ELSE disabled_at END"
        " WHERE tenant_id = %s AND id = %s RETURNING *",
        (url, _check_events(events) if events is not None else None, description, enabled,
         enabled is True, enabled is True, enabled is False, actor, enabled is True, enabled is False,
         tenant_id, subscription_id))
    row = await cur.fetchone()
    if row is None:
        return None
    changed = {k: v for k, v in {"url": url, "events": events, "description": description, "enabled": enabled}.items()
               if v is not None}
    await audit.record(conn, tenant_id, actor=actor, action="webhook.updated", subject_type="webhook",
                       subject_id=subscription_id, details=changed)
    return _subscription(row)


async def delete(conn: AsyncConnection[Any], tenant_id: int, subscription_id: int, *, actor: str) -> bool:
    """Its pending deliveries fail when claimed (the sender finds no subscription)."""
    cur = await conn.execute("DELETE FROM webhook_subscriptions WHERE tenant_id = %s AND id = %s",
                             (tenant_id, subscription_id))
    if cur.rowcount == 0:
        return False
    await audit.record(conn, tenant_id, actor=actor, action="webhook.deleted", subject_type="webhook",
                       subject_id=subscription_id)
    return True


async def emit(conn: AsyncConnection[Any], tenant_id: int, event_type: str, data: dict[str, Any]) -> int:
    """Queues ``event_type`` for every enabled subscription to it; returns how many rows were queued."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    event_id = f"evt_{uuid.uuid4().hex}"
    event = {"id": event_id, "type": event_type, "created_at": datetime.now(UTC).isoformat(), "data": data}
    cur = await conn.execute(
        "INSERT INTO outbox (tenant_id, channel, idempotency_key, payload)"
        " SELECT s.tenant_id, %s, 'webhook:' || s.id || ':' || %s,"
        "   jsonb_build_object('subscription_id', s.id, 'event', %s::jsonb)"
        " FROM webhook_subscriptions s WHERE s.tenant_id = %s AND s.enabled AND %s = ANY(s.events)"
        " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        (CHANNEL, event_id, json.dumps(event, default=str), tenant_id, event_type))
    return cur.rowcount


async def record_success(conn: AsyncConnection[Any], tenant_id: int, subscription_id: int) -> None:
    await conn.execute("UPDATE webhook_subscriptions SET consecutive_failures = 0"
                       " WHERE tenant_id = %s AND id = %s AND consecutive_failures <> 0", (tenant_id, subscription_id))


async def record_failure(conn: AsyncConnection[Any], tenant_id: int, subscription_id: int, error: str, *,
                         disable_after: int) -> Subscription | None:
    """Counts a failed attempt; at ``disable_after`` in a row the subscription is disabled, its pending
    deliveries fail, and an audit event says why.

    Returns the disabled subscription when this failure disabled it (None otherwise), so the caller can
    tell the tenant's people in the same transaction: the store knows nothing of notifications."""
    cur = await conn.execute(
        "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1,"
        " enabled = enabled AND consecutive_failures + 1 < %s,"
        " disabled_reason = CASE WHEN enabled AND consecutive_failures + 1 >= %s"
        "   THEN %s ELSE disabled_reason END,"
        " disabled_at = CASE WHEN enabled AND consecutive_failures + 1 >= %s THEN now() ELSE disabled_at END"
        " WHERE tenant_id = %s AND id = %s RETURNING *, disabled_at = now() AS just_disabled",
        (disable_after, disable_after, f"{disable_after} consecutive failed deliveries; last: {error}"[:500],
         disable_after, tenant_id, subscription_id))
    row = await cur.fetchone()
    if row is None or not row["just_disabled"]:
        return None
    await conn.execute(
        "UPDATE outbox SET status = 'failed', last_error = 'subscription disabled'"
        " WHERE tenant_id = %s AND channel = %s AND status = 'pending' AND (payload->>'subscription_id')::bigint = %s",
        (tenant_id, CHANNEL, subscription_id))
    await audit.record(conn, tenant_id, actor="webhooks", action="webhook.disabled", subject_type="webhook",
                       subject_id=subscription_id, details={"consecutive_failures": disable_after, "last_error": error})
    return _subscription(row)


async def deliveries(conn: AsyncConnection[Any], tenant_id: int, subscription_id: int, *,
                     limit: int = 50) -> list[dict[str, Any]]:
    """The newest deliveries to one subscription, for the admins' delivery log."""
    cur = await conn.execute(
        "SELECT id, payload->'event'->>'id' AS event_id, payload->'event'->>'type' AS event_type, status, attempts,"
        " last_error, created_at, sent_at, CASE WHEN status = 'pending' THEN next_attempt_at END AS next_attempt_at"
        " FROM outbox WHERE tenant_id = %s AND channel = %s AND (payload->>'subscription_id')::bigint = %s"
        " ORDER BY id DESC LIMIT %s",
        (tenant_id, CHANNEL, subscription_id, limit))
    return list(await cur.fetchall())


def conversation_data(c: Conversation) -> dict[str, Any]:
    """The ``data`` of conversation events."""
    return {"conversation_id": c.id, "status": str(c.status), "channel": str(c.last_channel), "subject": c.subject,
            "customer_id": c.customer_id, "assignee_id": c.assignee_id, "category": c.category, "urgency": c.urgency}


def message_data(m: Message) -> dict[str, Any]:
    """The ``data`` of ``message.created``."""
    return {"conversation_id": m.conversation_id, "message_id": m.id, "seq": m.seq, "direction": str(m.direction),
            "author_kind": str(m.author_kind), "channel": str(m.channel), "text": m.text,
            "reply_kind": str(m.reply_kind) if m.reply_kind else None}
