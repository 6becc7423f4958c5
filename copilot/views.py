"""Read models for the console: the queue, one cross-channel timeline, the customer panel."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from store import conversations, customer_attributes, customers, incidents
from store.conversations import OPEN_STATUSES

QUEUE_VIEWS = ("mine", "unassigned", "ai", "escalated", "breaching", "all")
URGENCY_RANK = "CASE c.urgency WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END"


async def queue(conn: AsyncConnection[Any], tenant_id: int, agent_id: int, view: str, limit: int = 100
                ) -> list[dict[str, Any]]:
    """Sorted by the ladder's queue bumps, then SLA urgency: the nearest due time first, then urgency, age."""
    open_ = [s.value for s in OPEN_STATUSES]
    where = {
        "mine": "c.assignee_id = %(agent)s AND c.status = ANY(%(open)s)",
        "unassigned": "c.assignee_id IS NULL AND c.status = 'pending_agent'",
        "ai": "c.assignee_id IS NULL AND c.status IN ('new', 'ai_active', 'waiting_customer')",
        "escalated": "c.status = ANY(%(open)s) AND (c.escalated_at IS NOT NULL OR c.urgency = 'critical'"
                     " OR c.sla_resolution_due < now()"
                     " OR (c.status = 'pending_agent' AND c.assignee_id IS NULL AND c.updated_at < now() - interval '15 minutes'))",
        "breaching": "c.status = ANY(%(open)s) AND least(CASE WHEN c.first_response_at IS NULL THEN c.sla_first_response_due END,"
                     " c.sla_resolution_due) < now() + interval '30 minutes'",
        "all": "c.status = ANY(%(open)s)",
    }[view]
    cur = await conn.execute(
        "SELECT c.id, c.status, c.subject, c.escalated_at, c.queue_priority, c.last_channel, c.category, c.urgency, c.sentiment, c.assignee_id,"
        " c.updated_at, c.created_at, c.sla_first_response_due, c.sla_resolution_due, cu.display_name AS customer,"
        " (SELECT count(*) FROM messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
        "   AND m.direction = 'in' AND m.seq > coalesce(r.seq, 0)) AS unread,"
        " (SELECT left(m.text, 160) FROM messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
        "   AND m.direction = 'in' ORDER BY m.seq DESC LIMIT 1) AS preview"
        " FROM conversations c JOIN customers cu ON cu.tenant_id = c.tenant_id AND cu.id = c.customer_id"
        " LEFT JOIN conversation_reads r ON r.tenant_id = c.tenant_id AND r.agent_id = %(agent)s"
        "   AND r.conversation_id = c.id"
        f" WHERE c.tenant_id = %(tenant)s AND {where}"
        " ORDER BY c.queue_priority DESC, least(CASE WHEN c.first_response_at IS NULL THEN c.sla_first_response_due END,"
        f"  c.sla_resolution_due) NULLS LAST, {URGENCY_RANK}, c.updated_at LIMIT %(limit)s",
        {"tenant": tenant_id, "agent": agent_id, "open": open_, "limit": limit},
    )
    return [_jsonable(r) for r in await cur.fetchall()]


async def conversation_detail(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> dict[str, Any]:
    conv = await conversations.get(conn, tenant_id, conversation_id)
    cur = await conn.execute(
        "SELECT m.id, m.seq, m.direction, m.author_kind, m.author_id, m.channel, m.subject, m.text, m.reply_kind,"
        " m.sources, m.actions, m.attachments, m.flags, m.created_at, m.edited_at, m.deleted_at,"
        " o.status AS delivery, o.last_error AS delivery_error"
        " FROM messages m LEFT JOIN outbox o ON o.tenant_id = m.tenant_id AND o.message_id = m.id"
        " WHERE m.tenant_id = %s AND m.conversation_id = %s ORDER BY m.seq LIMIT 2000",
        (tenant_id, conversation_id),
    )
    timeline = [_jsonable(r) for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT category, category_confidence, urgency, urgency_confidence, sentiment, sentiment_confidence,"
        " complexity, skills, language, language_confidence, message_id FROM message_classifications"
        " WHERE tenant_id = %s AND conversation_id = %s ORDER BY id DESC LIMIT 1",
        (tenant_id, conversation_id),
    )
    classification = await cur.fetchone()
    return {
        "conversation": _jsonable({
            "id": conv.id, "status": conv.status.value, "subject": conv.subject, "channel": conv.last_channel.value,
            "category": conv.category, "urgency": conv.urgency, "sentiment": conv.sentiment,
            "assignee_id": conv.assignee_id, "clarify_turns": conv.clarify_turns, "created_at": conv.created_at,
        }),
        "timeline": timeline,
        "classification": _jsonable(classification) if classification else None,
        "customer": await customer_panel(conn, tenant_id, conv.customer_id, exclude=conversation_id),
        "incident": await incident_badge(conn, tenant_id, conversation_id),
    }


async def incident_badge(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> dict[str, Any] | None:
    """The incident this conversation belongs to: "N customers report this" in the console."""
    incident_id = await incidents.membership(conn, tenant_id, conversation_id)
    found = await incidents.get(conn, tenant_id, incident_id) if incident_id is not None else None
    if found is None:
        return None
    return {"id": found.id, "title": found.title, "status": found.status, "customers": found.customers}


async def customer_panel(conn: AsyncConnection[Any], tenant_id: int, customer_id: int, *, exclude: int | None = None
                         ) -> dict[str, Any]:
    """Every identity and claim with how it was linked; agents always see them all."""
    group = await customers.group(conn, tenant_id, customer_id)
    root = await customers.get(conn, tenant_id, group[0])
    idents = await customers.identities(conn, tenant_id, group)
    merges = await customers.merges(conn, tenant_id, group)
    cur = await conn.execute(
        "SELECT id, status, subject, last_channel, category, created_at, resolved_at FROM conversations"
        " WHERE tenant_id = %s AND customer_id = ANY(%s) AND id <> %s ORDER BY created_at DESC LIMIT 20",
        (tenant_id, group, exclude or 0),
    )
    past = [_jsonable(r) for r in await cur.fetchall()]
    return {
        "id": group[0],
        "name": root.display_name if root else None,
        "identities": [{"id": i.id, "kind": i.kind.value, "value": i.value, "source": i.source.value,
                        "links": i.links, "verified": i.verified, "created_at": i.created_at.isoformat()}
                       for i in idents],
        "merges": [_jsonable(m) for m in merges],
        "past_conversations": past,
        "attributes": await customer_attributes.get(conn, tenant_id, group[0]),
    }


def _jsonable(row: Any) -> dict[str, Any]:
    out = {}
    for key, value in dict(row).items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
