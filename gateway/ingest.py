"""The ingest pipeline: every channel's messages meet here.

Reads top to bottom as named steps, in one transaction:
find tenant → dedupe → resolve identity → resolve thread → persist → attachments → reopen → enqueue agent work.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from gateway.metrics import record_ingest
from store import attachments, conversations, crash_points, customers, jobs, tenants
from store.conversations import OPEN_STATUSES
from store.customers import Resolved
from store.models import (
    UNSTORABLE,
    AuthorKind,
    Conversation,
    ConversationStatus,
    Direction,
    InboundMessage,
    IngestResult,
    Message,
)
from store.tenants import Tenant
from store.trust import policy

AGENT_RUN = "agent_run"
MAX_TEXT_CHARS = 100_000


class IngestError(ValueError):
    """Bad input, described with the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


async def ingest(pool: AsyncConnectionPool, msg: InboundMessage,
                 limits: attachments.Limits = attachments.DEFAULT_LIMITS) -> IngestResult:
    validate(msg, limits)
    started = time.perf_counter()
    async with pool.connection() as conn, conn.transaction():
        tenant = await find_tenant(conn, msg.tenant_id)
        await lock_delivery(conn, msg)
        if (dup := await find_duplicate(conn, msg)) is not None:
            record_ingest(tenant.slug, msg.channel, started, duplicate=True)
            return dup
        who = await resolve_identity(conn, tenant, msg)
        conv, created = await resolve_thread(conn, tenant, msg, who)
        stored = await persist(conn, msg, conv, who)
        await store_attachments(conn, msg, conv, stored.id, limits)
        await reopen_if_needed(conn, conv)
        await enqueue_agent_work(conn, msg, conv, stored.id)
        record_ingest(tenant.slug, msg.channel, started, duplicate=False)
        result = IngestResult(stored.id, conv.id, who.customer_id, stored.seq, duplicate=False,
                              created_conversation=created, created_at=stored.created_at)
    crash_points.reached(crash_points.AFTER_INBOUND_COMMIT)  # stored; the channel has not acked
    return result


def validate(msg: InboundMessage, limits: attachments.Limits) -> None:
    if not msg.external_id or len(msg.external_id) > 512:
        raise IngestError("external_id", "required, at most 512 characters")
    if len(msg.text) > MAX_TEXT_CHARS:
        raise IngestError("text", f"at most {MAX_TEXT_CHARS} characters")
    if not msg.claims:
        raise IngestError("claims", "at least one identity claim is required")
    if len(msg.upload_ids) > limits.max_per_message:
        raise IngestError("attachment_ids", f"at most {limits.max_per_message} files per message")
    if msg.subject is not None and len(msg.subject) > 998:
        raise IngestError("subject", "at most 998 characters")
    fields = {"text": msg.text, "subject": msg.subject or "", "external_id": msg.external_id,
              **{f"claims.{i}": f"{c.value}{c.display_name or ''}" for i, c in enumerate(msg.claims)}}
    for field, value in fields.items():
        if UNSTORABLE.search(value):
            raise IngestError(field, "must not contain NUL or unpaired surrogate characters")


async def find_tenant(conn: AsyncConnection[Any], tenant_id: int) -> Tenant:
    tenant = await tenants.get(conn, tenant_id)
    if tenant is None:
        raise IngestError("tenant_id", f"unknown tenant {tenant_id}")
    return tenant


async def lock_delivery(conn: AsyncConnection[Any], msg: InboundMessage) -> None:
    """Serializes concurrent deliveries of one external id, so the second sees the first's row."""
    digest = hashlib.sha256(f"{msg.tenant_id}\0{msg.channel}\0{msg.external_id}".encode()).digest()
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (int.from_bytes(digest[:8], "big", signed=True),))


async def find_duplicate(conn: AsyncConnection[Any], msg: InboundMessage) -> IngestResult | None:
    existing = await conversations.find_message_by_external_id(conn, msg.tenant_id, msg.channel, msg.external_id)
    if existing is None:
        return None
    conv = await conversations.get(conn, msg.tenant_id, existing.conversation_id)
    return IngestResult(existing.id, conv.id, conv.customer_id, existing.seq, duplicate=True, created_conversation=False,
                        created_at=existing.created_at)


async def resolve_identity(conn: AsyncConnection[Any], tenant: Tenant, msg: InboundMessage) -> Resolved:
    return await customers.resolve(conn, tenant.id, msg.claims, actor=f"ingest:{msg.channel}")


async def resolve_thread(
    conn: AsyncConnection[Any], tenant: Tenant, msg: InboundMessage, who: Resolved
) -> tuple[Conversation, bool]:
    """Explicit hint → channel thread keys → the customer's open conversation → a new one."""
    group = await customers.group(conn, tenant.id, who.customer_id)
    hint = msg.thread
    conv: Conversation | None = None
    if hint.conversation_id is not None:
        try:
            candidate = await conversations.get(conn, tenant.id, hint.conversation_id)
        except conversations.NotFound:
            candidate = None
        if candidate is not None and candidate.customer_id in group:
            conv = candidate
    if conv is None and hint.keys:
        found = await conversations.find_by_thread_keys(conn, tenant.id, msg.channel, hint.keys)
        if found is not None:
            candidate = await conversations.get(conn, tenant.id, found)
            # Never thread two different people together unless they already share the space.
            if hint.shared_space or candidate.customer_id in group:
                conv = candidate
    if conv is None and policy(who.source).threads and not hint.shared_space and hint.conversation_id is None:
        window = float(tenant.setting("reopen_window_hours")) * 3600
        conv = await conversations.find_open_for_customers(conn, tenant.id, group, window)
    created = conv is None
    if conv is None:
        conv = await conversations.create(conn, tenant.id, who.customer_id, msg.channel, msg.subject)
    if hint.new_key:
        await conversations.add_thread_key(conn, tenant.id, msg.channel, hint.new_key, conv.id)
    return conv, created


async def persist(conn: AsyncConnection[Any], msg: InboundMessage, conv: Conversation, who: Resolved) -> Message:
    return await conversations.append_message(
        conn, msg.tenant_id, conv.id, direction=Direction.INBOUND, author_kind=AuthorKind.CUSTOMER,
        channel=msg.channel, text=msg.text, subject=msg.subject, identity_id=who.identity_id,
        flags=msg.flags, raw=dict(msg.raw), external_id=msg.external_id, created_at=msg.received_at,
    )


async def store_attachments(conn: AsyncConnection[Any], msg: InboundMessage, conv: Conversation, message_id: int,
                            limits: attachments.Limits) -> None:
    """Files arriving with the message are stored; ones the sender uploaded before are linked to it.

    A file refused here (too large, executable, over the count) never refuses the message: the
    customer's words still arrive, and agents see the file's name with the reason it was kept out.
    """
    uploader = f"{msg.channel}:{msg.claims[0].value}"
    try:
        linked = await attachments.link(conn, msg.tenant_id, msg.upload_ids, uploader=uploader,
                                        conversation_id=conv.id, message_id=message_id)
    except attachments.AttachmentRejected as exc:
        raise IngestError(exc.field, exc.message) from exc
    metas = [a.meta() for a in linked]
    for a in msg.attachments:
        meta = {"name": attachments.clean_filename(a.name), "content_type": a.content_type, "size": a.size}
        if a.content is None:
            metas.append({**meta, "rejected": a.rejected[:500]} if a.rejected else meta)
            continue
        if len(metas) >= limits.max_per_message:
            metas.append({**meta, "rejected": f"more than {limits.max_per_message} files"})
            continue
        try:
            async with conn.transaction():  # a savepoint: a refused file leaves the message intact
                stored = await attachments.add(conn, msg.tenant_id, uploader=uploader, filename=a.name,
                                               declared_type=a.content_type, content=a.content, limits=limits,
                                               conversation_id=conv.id, message_id=message_id)
            metas.append(stored.meta())
        except attachments.AttachmentRejected as exc:
            metas.append({**meta, "rejected": exc.message})
    if metas:
        await conn.execute("UPDATE messages SET attachments = %s WHERE tenant_id = %s AND id = %s",
                           (Jsonb(metas), msg.tenant_id, message_id))


async def reopen_if_needed(conn: AsyncConnection[Any], conv: Conversation) -> None:
    """Any inbound message on a resolved/closed conversation reopens it; the customer answered a wait."""
    S = ConversationStatus
    if conv.status in (S.RESOLVED, S.CLOSED, S.WAITING_CUSTOMER):
        to = S.ASSIGNED if conv.assignee_id is not None else S.AI_ACTIVE
        await conversations.transition(conn, conv.tenant_id, conv.id, to, actor="ingest", reason="customer wrote")


async def enqueue_agent_work(conn: AsyncConnection[Any], msg: InboundMessage, conv: Conversation, message_id: int) -> None:
    if msg.suppress_reply:
        return  # auto-replies, bounces and bulk mail are stored, never answered
    await jobs.enqueue(conn, msg.tenant_id, AGENT_RUN, dedupe_key=f"conversation:{conv.id}",
                       payload={"conversation_id": conv.id, "message_id": message_id})


__all__ = ["AGENT_RUN", "OPEN_STATUSES", "IngestError", "ingest"]
