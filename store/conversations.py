"""Conversations, their messages, and the one state machine.

Status changes only through ``transition``; it checks ``TRANSITIONS`` and records the change.
Callers pass an open connection so the check and whatever depends on it (an outbox insert) commit
together.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from store import webhooks
from store.models import (
    Action,
    AuthorKind,
    Channel,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    ReplyKind,
    Source,
)

S = ConversationStatus
TRANSITIONS: dict[ConversationStatus, frozenset[ConversationStatus]] = {
    S.NEW: frozenset({S.AI_ACTIVE, S.PENDING_AGENT, S.ASSIGNED, S.RESOLVED}),
    S.AI_ACTIVE: frozenset({S.WAITING_CUSTOMER, S.PENDING_AGENT, S.ASSIGNED, S.RESOLVED}),
    S.WAITING_CUSTOMER: frozenset({S.AI_ACTIVE, S.ASSIGNED, S.PENDING_AGENT, S.RESOLVED}),
    S.PENDING_AGENT: frozenset({S.ASSIGNED, S.AI_ACTIVE, S.RESOLVED}),
    S.ASSIGNED: frozenset({S.WAITING_CUSTOMER, S.PENDING_AGENT, S.AI_ACTIVE, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.AI_ACTIVE, S.ASSIGNED, S.PENDING_AGENT}),
    S.CLOSED: frozenset({S.AI_ACTIVE, S.ASSIGNED, S.PENDING_AGENT}),
}
OPEN_STATUSES = (S.NEW, S.AI_ACTIVE, S.WAITING_CUSTOMER, S.PENDING_AGENT, S.ASSIGNED)
AI_MAY_REPLY = (S.NEW, S.AI_ACTIVE, S.WAITING_CUSTOMER)  # and only with no human owner (see store.outbox)
# Status changes that outgoing webhooks report; emitted here so no path that changes status skips them.
WEBHOOK_EVENTS = {S.PENDING_AGENT: "conversation.escalated", S.RESOLVED: "conversation.resolved"}


class TransitionError(ValueError):
    pass


class NotFound(LookupError):
    pass


def _conversation(row: dict[str, Any]) -> Conversation:
    return Conversation(
        id=row["id"],
        tenant_id=row["tenant_id"],
        customer_id=row["customer_id"],
        status=ConversationStatus(row["status"]),
        last_channel=Channel(row["last_channel"]),
        subject=row["subject"],
        category=row["category"],
        urgency=row["urgency"],
        sentiment=row["sentiment"],
        assignee_id=row["assignee_id"],
        clarify_turns=row["clarify_turns"],
        last_seq=row["last_seq"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        language=row.get("language"),
    )


def _message(row: dict[str, Any]) -> Message:
    return Message(
        id=row["id"],
        tenant_id=row["tenant_id"],
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        direction=Direction(row["direction"]),
        author_kind=AuthorKind(row["author_kind"]),
        channel=Channel(row["channel"]),
        text=row["text"],
        created_at=row["created_at"],
        external_id=row["external_id"],
        reply_kind=ReplyKind(row["reply_kind"]) if row["reply_kind"] else None,
        sources=tuple(Source(**s) for s in row["sources"]),
        actions=tuple(Action(**a) for a in row["actions"]),
        flags=tuple(row["flags"]),
        subject=row["subject"],
        deleted=row["deleted_at"] is not None,
    )


async def get(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, lock: bool = False) -> Conversation:
    sql = "SELECT * FROM conversations WHERE tenant_id = %s AND id = %s" + (" FOR UPDATE" if lock else "")
    cur = await conn.execute(sql, (tenant_id, conversation_id))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return _conversation(row)


async def create(
    conn: AsyncConnection[Any], tenant_id: int, customer_id: int, channel: Channel, subject: str | None
) -> Conversation:
    cur = await conn.execute(
        "INSERT INTO conversations (tenant_id, customer_id, last_channel, subject) VALUES (%s, %s, %s, %s) RETURNING *",
        (tenant_id, customer_id, channel.value, subject),
    )
    row = await cur.fetchone()
    assert row is not None
    conv = _conversation(row)
    await webhooks.emit(conn, tenant_id, "conversation.created", webhooks.conversation_data(conv))
    return conv


async def transition(
    conn: AsyncConnection[Any],
    tenant_id: int,
    conversation_id: int,
    to: ConversationStatus,
    *,
    actor: str,
    reason: str | None = None,
    expect: Sequence[ConversationStatus] | None = None,
) -> Conversation:
    """The one place a status changes. Locks the row; raises TransitionError on a forbidden move."""
    conv = await get(conn, tenant_id, conversation_id, lock=True)
    if expect is not None and conv.status not in expect:
        raise TransitionError(f"conversation {conversation_id} is {conv.status}, expected one of {list(expect)}")
    if conv.status == to:
        return conv
    if to not in TRANSITIONS[conv.status]:
        raise TransitionError(f"conversation {conversation_id}: {conv.status} → {to} is not allowed")
    sets = ["status = %s", "updated_at = now()"]
    params: list[Any] = [to.value]
    # SLA clocks pause exactly while waiting on the customer.
    if to is S.WAITING_CUSTOMER:
        sets.append("sla_paused_at = now()")
    elif conv.status is S.WAITING_CUSTOMER:
        sets.append("sla_paused_seconds = sla_paused_seconds + extract(epoch FROM now() - coalesce(sla_paused_at, now()))")
        sets.append("sla_paused_at = NULL")
    if to is S.RESOLVED:
        sets.append("resolved_at = now()")
    # Handing to the AI always drops the human owner (else the AI may never speak again); a reopened
    # conversation going back to the queue keeps its last agent.
    if to is S.AI_ACTIVE or (to is S.PENDING_AGENT and conv.status not in (S.RESOLVED, S.CLOSED)):
        sets.append("assignee_id = NULL")
    cur = await conn.execute(
        f"UPDATE conversations SET {', '.join(sets)} WHERE tenant_id = %s AND id = %s RETURNING *",
        (*params, tenant_id, conversation_id),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        "INSERT INTO status_changes (tenant_id, conversation_id, from_status, to_status, actor, reason)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (tenant_id, conversation_id, conv.status.value, to.value, actor, reason),
    )
    changed = _conversation(row)
    if to in WEBHOOK_EVENTS:
        await webhooks.emit(conn, tenant_id, WEBHOOK_EVENTS[to], {**webhooks.conversation_data(changed),
                                                                  "from_status": conv.status.value, "reason": reason})
    return changed


async def assign(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, agent_id: int, *, actor: str) -> Conversation:
    conv = await transition(conn, tenant_id, conversation_id, S.ASSIGNED, actor=actor, reason=f"assigned to agent {agent_id}")
    cur = await conn.execute(
        "UPDATE conversations SET assignee_id = %s WHERE tenant_id = %s AND id = %s RETURNING *",
        (agent_id, tenant_id, conv.id),
    )
    row = await cur.fetchone()
    assert row is not None
    return _conversation(row)


async def set_urgency(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, urgency: str) -> Conversation:
    """An explicit urgency from an agent or an integration (classifier overrides go through store.triage)."""
    cur = await conn.execute("UPDATE conversations SET urgency = %s, updated_at = now() WHERE tenant_id = %s AND id = %s"
                             " RETURNING *", (urgency, tenant_id, conversation_id))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return _conversation(row)


async def append_message(
    conn: AsyncConnection[Any],
    tenant_id: int,
    conversation_id: int,
    *,
    direction: Direction,
    author_kind: AuthorKind,
    channel: Channel,
    text: str,
    subject: str | None = None,
    author_id: int | None = None,
    identity_id: int | None = None,
    reply_kind: ReplyKind | None = None,
    sources: Sequence[Source] = (),
    actions: Sequence[Action] = (),
    attachments: Sequence[dict[str, Any]] = (),
    flags: Sequence[str] = (),
    raw: dict[str, Any] | None = None,
    external_id: str | None = None,
    created_at: datetime | None = None,
) -> Message:
    """Appends with the next per-conversation sequence number (the row lock orders concurrent appends).

    One statement: the sequence bump and the insert share a round trip, and a missing conversation
    inserts nothing."""
    cur = await conn.execute(
        "WITH conv AS (UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(),"
        " last_channel = CASE WHEN %s = 'in' THEN %s ELSE last_channel END,"
        " last_inbound_at = CASE WHEN %s = 'in' THEN now() ELSE last_inbound_at END,"
        " first_response_at = CASE WHEN %s = 'out' AND %s <> 'system' AND first_response_at IS NULL"
        "   THEN now() ELSE first_response_at END"
        " WHERE tenant_id = %s AND id = %s RETURNING last_seq)"
        " INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, author_id, identity_id, channel,"
        " subject, text, reply_kind, sources, actions, attachments, flags, raw, external_id, created_at)"
        " SELECT %s, %s, conv.last_seq, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now())"
        " FROM conv RETURNING *",
        (
            direction.value, channel.value, direction.value, direction.value, author_kind.value, tenant_id,
            conversation_id,
            tenant_id,
            conversation_id,
            direction.value,
            author_kind.value,
            author_id,
            identity_id,
            channel.value,
            subject,
            text,
            reply_kind.value if reply_kind else None,
            json.dumps([asdict(s) for s in sources]),
            json.dumps([asdict(a) for a in actions]),
            json.dumps(list(attachments)),
            list(flags),
            json.dumps(raw or {}, default=str),
            external_id,
            created_at,
        ),
    )
    stored = await cur.fetchone()
    if stored is None:
        raise NotFound(f"conversation {conversation_id} not found")
    msg = _message(stored)
    if direction is not Direction.INTERNAL and (reply_kind is None or reply_kind.customer_visible):
        await webhooks.emit(conn, tenant_id, "message.created", webhooks.message_data(msg))
    return msg


async def find_message_by_external_id(
    conn: AsyncConnection[Any], tenant_id: int, channel: Channel, external_id: str
) -> Message | None:
    cur = await conn.execute(
        "SELECT * FROM messages WHERE tenant_id = %s AND channel = %s AND external_id = %s",
        (tenant_id, channel.value, external_id),
    )
    row = await cur.fetchone()
    return _message(row) if row else None


async def messages(
    conn: AsyncConnection[Any],
    tenant_id: int,
    conversation_id: int,
    *,
    after_seq: int = 0,
    include_internal: bool = False,
    limit: int = 500,
) -> list[Message]:
    sql = "SELECT * FROM messages WHERE tenant_id = %s AND conversation_id = %s AND seq > %s"
    if not include_internal:
        sql += " AND direction <> 'internal' AND (reply_kind IS NULL OR reply_kind <> 'suggestion')"
    sql += " ORDER BY seq LIMIT %s"
    cur = await conn.execute(sql, (tenant_id, conversation_id, after_seq, limit))
    return [_message(r) for r in await cur.fetchall()]


async def list_for_customers(
    conn: AsyncConnection[Any], tenant_id: int, customer_ids: Sequence[int], *, limit: int = 100
) -> list[Conversation]:
    cur = await conn.execute(
        "SELECT * FROM conversations WHERE tenant_id = %s AND customer_id = ANY(%s) ORDER BY updated_at DESC LIMIT %s",
        (tenant_id, list(customer_ids), limit),
    )
    return [_conversation(r) for r in await cur.fetchall()]


async def find_open_for_customers(
    conn: AsyncConnection[Any], tenant_id: int, customer_ids: Sequence[int], reopen_window_seconds: float
) -> Conversation | None:
    """The customers' open conversation, or one resolved/closed within the reopen window."""
    cur = await conn.execute(
        "SELECT * FROM conversations WHERE tenant_id = %s AND customer_id = ANY(%s)"
        " AND (status = ANY(%s) OR updated_at > now() - make_interval(secs => %s))"
        " ORDER BY (status = ANY(%s)) DESC, updated_at DESC LIMIT 1",
        (tenant_id, list(customer_ids), [s.value for s in OPEN_STATUSES], reopen_window_seconds,
         [s.value for s in OPEN_STATUSES]),
    )
    row = await cur.fetchone()
    return _conversation(row) if row else None


async def add_thread_key(conn: AsyncConnection[Any], tenant_id: int, channel: Channel, key: str, conversation_id: int) -> None:
    await conn.execute(
        "INSERT INTO thread_keys (tenant_id, channel, key, conversation_id) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (tenant_id, channel.value, key, conversation_id),
    )


async def find_by_thread_keys(
    conn: AsyncConnection[Any], tenant_id: int, channel: Channel, keys: Sequence[str]
) -> int | None:
    if not keys:
        return None
    cur = await conn.execute(
        "SELECT conversation_id FROM thread_keys WHERE tenant_id = %s AND channel = %s AND key = ANY(%s)"
        " ORDER BY created_at DESC LIMIT 1",
        (tenant_id, channel.value, list(keys)),
    )
    row = await cur.fetchone()
    return int(row["conversation_id"]) if row else None


async def page(
    conn: AsyncConnection[Any],
    tenant_id: int,
    *,
    before_id: int | None = None,
    status: ConversationStatus | None = None,
    channel: Channel | None = None,
    assignee_id: int | None = None,
    urgency: str | None = None,
    category: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    limit: int = 50,
) -> list[Conversation]:
    """Newest first by id, keyset-paginated: rows created later get larger ids and sort before any
    cursor already handed out, so a walk never repeats or skips a row that existed when it began.

    Filters only narrow the rows, never the order, so the same cursor works with or without them.
    ``created_after`` is inclusive and ``created_before`` exclusive, so adjacent windows tile."""
    sql = "SELECT * FROM conversations WHERE tenant_id = %s"
    params: list[Any] = [tenant_id]
    filters: tuple[tuple[str, Any], ...] = (
        ("id < %s", before_id), ("status = %s", status.value if status is not None else None),
        ("last_channel = %s", channel.value if channel is not None else None), ("assignee_id = %s", assignee_id),
        ("urgency = %s", urgency), ("category = %s", category), ("created_at >= %s", created_after),
        ("created_at < %s", created_before))
    for condition, value in filters:
        if value is not None:
            sql += f" AND {condition}"
            params.append(value)
    sql += " ORDER BY id DESC LIMIT %s"
    params.append(limit)
    cur = await conn.execute(sql, params)
    return [_conversation(r) for r in await cur.fetchall()]


async def latest_language(conn: AsyncConnection[Any], tenant_id: int, customer_id: int) -> str | None:
    """The language last detected in this customer's conversations (for mail sent outside a thread)."""
    cur = await conn.execute(
        "SELECT language FROM conversations WHERE tenant_id = %s AND customer_id = %s AND language IS NOT NULL"
        " ORDER BY updated_at DESC LIMIT 1", (tenant_id, customer_id))
    row = await cur.fetchone()
    return None if row is None else (row["language"] if isinstance(row, dict) else row[0])
