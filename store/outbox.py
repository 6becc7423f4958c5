"""The delivery outbox: every customer-visible reply is written here in the same transaction as its message.

``write_reply`` is the one path a reply takes into the store, for the AI and for agents alike: it
checks who may speak in the conversation's current state, appends the message and queues the
delivery, all on the caller's connection so they commit (or not) together.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from psycopg import AsyncConnection

from store import conversations
from store.models import AuthorKind, Channel, Direction, Message, Reply, ReplyKind


class PermanentDeliveryError(Exception):
    """The channel refused for good (bad address, channel_not_found, 5xx SMTP): stop retrying."""


class TransientDeliveryError(Exception):
    """Try again later; ``retry_after`` seconds when the peer said so (429 Retry-After)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AIMayNotReply(PermissionError):
    """A human owns the conversation (or it is not in an AI state): the AI stays silent."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    tenant_id: int
    conversation_id: int | None
    message_id: int | None
    channel: Channel
    idempotency_key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


MAX_ATTEMPTS = 12


class Sender(Protocol):
    """A channel's outbound half: delivers one outbox row or raises a *DeliveryError."""

    async def send(self, delivery: Delivery) -> None: ...


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(row["id"], row["tenant_id"], row["conversation_id"], row["message_id"], Channel(row["channel"]),
                    row["idempotency_key"], row["payload"], row["attempts"], row["created_at"])


async def enqueue(
    conn: AsyncConnection[Any], tenant_id: int, *, channel: Channel, payload: dict[str, Any], idempotency_key: str,
    conversation_id: int | None = None, message_id: int | None = None,
) -> int | None:
    """Queues one delivery; the same idempotency key twice queues it once (returns None the second time)."""
    cur = await conn.execute(
        "INSERT INTO outbox (tenant_id, conversation_id, message_id, channel, idempotency_key, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id",
        (tenant_id, conversation_id, message_id, channel.value, idempotency_key, json.dumps(payload, default=str)),
    )
    row = await cur.fetchone()
    return int(row["id"]) if row else None


async def write_reply(
    conn: AsyncConnection[Any],
    tenant_id: int,
    conversation_id: int,
    reply: Reply,
    *,
    channel: Channel,
    body: dict[str, Any],
    author_kind: AuthorKind,
    author_id: int | None = None,
    answers_message_id: int | None = None,
    idempotency_key: str | None = None,
) -> Message:
    """Appends a customer-visible reply and queues its delivery, in the caller's transaction.

    ``body`` is the channel formatter's payload (the caller formats; the store does no rendering).
    """
    if not reply.kind.customer_visible:
        raise ValueError("a suggestion is a draft for agents and is never sent")
    conv = await conversations.get(conn, tenant_id, conversation_id, lock=True)
    if author_kind is AuthorKind.AI and (conv.status not in conversations.AI_MAY_REPLY or conv.assignee_id is not None):
        raise AIMayNotReply(f"conversation {conversation_id} is {conv.status}; the AI may not reply")
    msg = await conversations.append_message(
        conn, tenant_id, conversation_id, direction=Direction.OUTBOUND, author_kind=author_kind, author_id=author_id,
        channel=channel, text=reply.text, reply_kind=reply.kind, sources=reply.sources, actions=reply.actions,
        raw={"answers_message_id": answers_message_id, "language": reply.language},
    )
    payload = {
        "message_id": msg.id,
        "conversation_id": conversation_id,
        "seq": msg.seq,
        "kind": reply.kind.value,
        "author_kind": author_kind.value,
        "answers_message_id": answers_message_id,
        "body": body,
    }
    await enqueue(conn, tenant_id, channel=channel, payload=payload, conversation_id=conversation_id,
                  message_id=msg.id, idempotency_key=idempotency_key or f"message:{msg.id}")
    return msg


async def claim_due(conn: AsyncConnection[Any], channels: list[Channel], *, limit: int = 20,
                    lease_seconds: float = 60) -> list[Delivery]:
    """Leases due deliveries for the channels this process can send on.

    A crashed dispatcher's lease expires and another picks the row up.
    """
    cur = await conn.execute(
        "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => %s), attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= now()"
        "   AND channel = ANY(%s) ORDER BY next_attempt_at, id FOR UPDATE SKIP LOCKED LIMIT %s) RETURNING *",
        (lease_seconds, [c.value for c in channels], limit),
    )
    return sorted((_delivery(r) for r in await cur.fetchall()), key=lambda d: d.id)


async def mark_sent(conn: AsyncConnection[Any], tenant_id: int, delivery_id: int) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'sent', sent_at = now(), last_error = NULL WHERE tenant_id = %s AND id = %s",
        (tenant_id, delivery_id),
    )


def backoff_seconds(attempts: int, *, base: float = 2.0, cap: float = 600.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter, so many failing deliveries do not retry in lockstep."""
    r = rng or random
    return r.uniform(base, min(cap, base * 2 ** max(0, attempts - 1)))


async def mark_retry(conn: AsyncConnection[Any], tenant_id: int, delivery: Delivery, error: str,
                     retry_after: float | None = None) -> bool:
    """Schedules another attempt; returns False (and marks it failed) once attempts are used up."""
    if delivery.attempts >= MAX_ATTEMPTS:
        await mark_failed(conn, tenant_id, delivery.id, f"gave up after {delivery.attempts} attempts: {error}")
        return False
    delay = retry_after if retry_after is not None else backoff_seconds(delivery.attempts)
    await conn.execute(
        "UPDATE outbox SET next_attempt_at = now() + make_interval(secs => %s), last_error = %s WHERE tenant_id = %s AND id = %s",
        (delay, error[:2000], tenant_id, delivery.id),
    )
    return True


async def mark_failed(conn: AsyncConnection[Any], tenant_id: int, delivery_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET status = 'failed', last_error = %s WHERE tenant_id = %s AND id = %s",
        (error[:2000], tenant_id, delivery_id),
    )


async def backlog(conn: AsyncConnection[Any]) -> dict[str, int]:
    """Pending deliveries per channel across tenants (for metrics)."""
    cur = await conn.execute("SELECT channel, count(*) AS n FROM outbox WHERE status = 'pending' GROUP BY channel")
    return {r["channel"]: int(r["n"]) for r in await cur.fetchall()}


async def for_conversation(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT id, channel, status, attempts, last_error, created_at, sent_at, message_id FROM outbox"
        " WHERE tenant_id = %s AND conversation_id = %s ORDER BY id",
        (tenant_id, conversation_id),
    )
    return list(await cur.fetchall())


__all__ = [
    "AIMayNotReply",
    "Delivery",
    "PermanentDeliveryError",
    "ReplyKind",
    "Sender",
    "TransientDeliveryError",
    "claim_due",
    "enqueue",
    "mark_failed",
    "mark_retry",
    "mark_sent",
    "write_reply",
]
