"""The reply path shared by the AI and agents: Reply → channel formatter → message + outbox row."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from psycopg import AsyncConnection

from formatters import render
from store import conversations, crash_points, customers, tenants, translations
from store.models import AuthorKind, Channel, Message, RenderContext, Reply
from store.outbox import write_reply


async def render_context(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                         answers_message_id: int | None, base_url: str) -> RenderContext:
    conv = await conversations.get(conn, tenant_id, conversation_id)
    tenant = await tenants.get(conn, tenant_id)
    customer = await customers.get(conn, tenant_id, conv.customer_id)
    quoted = None
    quoted_at = None
    if answers_message_id is not None:
        cur = await conn.execute("SELECT text, created_at FROM messages WHERE tenant_id = %s AND id = %s",
                                 (tenant_id, answers_message_id))
        row = await cur.fetchone()
        if row:
            quoted, quoted_at = row["text"], row["created_at"]
    return RenderContext(conversation_id=conversation_id, tenant_name=tenant.name if tenant else "",
                         customer_name=customer.display_name if customer else None, subject=conv.subject,
                         quoted_text=quoted, quoted_at=quoted_at, base_url=base_url)


# Channels that take messages in but answer elsewhere (DESIGN: a web form customer receives replies by
# email). REST API intake is answered by email too until outgoing webhooks exist; with no address on
# file the email delivery fails visibly for agents rather than the agent run failing.
ANSWERED_ON = {Channel.WEBFORM: Channel.EMAIL, Channel.API: Channel.EMAIL}


async def reply_channel(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                        answers_message_id: int | None) -> Channel:
    """A reply goes to the channel of the inbound message it answers (else the conversation's last)."""
    channel: Channel | None = None
    if answers_message_id is not None:
        cur = await conn.execute("SELECT channel FROM messages WHERE tenant_id = %s AND id = %s",
                                 (tenant_id, answers_message_id))
        row = await cur.fetchone()
        if row:
            channel = Channel(row["channel"])
    if channel is None:
        channel = (await conversations.get(conn, tenant_id, conversation_id)).last_channel
    return ANSWERED_ON.get(channel, channel)


async def send_reply(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, reply: Reply, *,
                     author_kind: AuthorKind, author_id: int | None = None, answers_message_id: int | None = None,
                     channel: Channel | None = None, base_url: str = "") -> Message:
    channel = channel or await reply_channel(conn, tenant_id, conversation_id, answers_message_id)
    ctx = await render_context(conn, tenant_id, conversation_id, answers_message_id, base_url)
    body = render(channel, reply, replace(ctx, gettext=translations.translations(reply.language).gettext))
    return await write_reply(conn, tenant_id, conversation_id, reply, channel=channel, body=body,
                             author_kind=author_kind, author_id=author_id, answers_message_id=answers_message_id)


class AIReplySink:
    """The agent graph's way out (agent_graph.ports.ReplySink)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def send(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, reply: Reply, *,
                   answers_message_id: int | None) -> Message:
        # The graph checkpointed the node before this one; the reply is not written yet.
        crash_points.reached(crash_points.BETWEEN_CHECKPOINT_AND_REPLY)
        return await send_reply(conn, tenant_id, conversation_id, reply, author_kind=AuthorKind.AI,
                                answers_message_id=answers_message_id, base_url=self.base_url)
