"""Telling agents: a console notification plus an email through the outbox, in the caller's transaction.

The email is a NOTICE rendered by the email formatter and addressed explicitly (payload ``to``), the
same way email verification mails reach an address that is not the conversation's customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from formatters import render
from store import agents, mailboxes, notifications, outbox, tenants
from store.models import Channel, RenderContext, Reply, ReplyKind
from store.notifications import Notification


async def notify_agents(conn: AsyncConnection[Any], tenant_id: int, agent_ids: Iterable[int], *, kind: str,
                        title: str, body: str, dedupe_key: str, now: datetime, conversation_id: int | None = None,
                        base_url: str = "", email: bool = True) -> list[Notification]:
    """Notifies each agent once per dedupe key; returns the notifications actually created.

    The email is skipped when the tenant has no mailbox to send from (the console list still has it).
    """
    created = []
    tenant = await tenants.get(conn, tenant_id)
    email = email and await mailboxes.default_for(conn, tenant_id) is not None
    for agent_id in dict.fromkeys(agent_ids):
        note = await notifications.create(conn, tenant_id, agent_id, kind=kind, title=title, body=body,
                                          dedupe_key=dedupe_key, now=now, conversation_id=conversation_id)
        if note is None:
            continue
        created.append(note)
        agent = await agents.get(conn, tenant_id, agent_id)
        if email and agent is not None:
            link = f"{base_url.rstrip('/')}/console#conversation-{conversation_id}" if base_url and conversation_id else ""
            text = f"{title}\n\n{body}" + (f"\n\nOpen it: {link}" if link else "")
            ctx = RenderContext(conversation_id=conversation_id or 0, tenant_name=tenant.name if tenant else "",
                                customer_name=agent.name, subject=title, base_url=base_url)
            payload = {"kind": ReplyKind.NOTICE.value, "author_kind": "system", "to": agent.email,
                       "notification_id": note.id, "body": render(Channel.EMAIL, Reply(ReplyKind.NOTICE, text), ctx)}
            await outbox.enqueue(conn, tenant_id, channel=Channel.EMAIL, payload=payload,
                                 idempotency_key=f"notification:{note.id}")
    return created
