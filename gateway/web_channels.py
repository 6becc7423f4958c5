"""Wires the browser-facing channels (chat widget pages, hosted contact form) into the app.

Kept out of ``create_app`` so mounting them is one call there, and so the form's confirmation
email (a gateway concern: it goes through the reply path and the outbox) lives next to the wiring.
"""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from channels.ports import Ingest
from channels.webform import WebFormChannel
from channels.widget import WidgetPages
from gateway.replies import send_reply
from store import conversations
from store.models import AuthorKind, Channel, Reply, ReplyKind


class FormConfirmationSender:
    """channels.ports.FormConfirmation: a NOTICE on the email channel through the one reply path."""

    def __init__(self, pool: AsyncConnectionPool, base_url: str) -> None:
        self.pool = pool
        self.base_url = base_url

    async def __call__(self, tenant_id: int, conversation_id: int, answers_message_id: int, text: str, *,
                       language: str = "en") -> None:
        async with self.pool.connection() as conn, conn.transaction():
            # The row lock serializes a double submit's two calls; the second finds the first's notice.
            await conversations.get(conn, tenant_id, conversation_id, lock=True)
            cur = await conn.execute(
                "SELECT 1 FROM messages WHERE tenant_id = %s AND conversation_id = %s AND reply_kind = 'notice'"
                " AND raw->>'answers_message_id' = %s LIMIT 1",
                (tenant_id, conversation_id, str(answers_message_id)))
            if await cur.fetchone() is not None:
                return
            await send_reply(conn, tenant_id, conversation_id, Reply(ReplyKind.NOTICE, text, language=language),
                             author_kind=AuthorKind.SYSTEM, answers_message_id=answers_message_id,
                             channel=Channel.EMAIL, base_url=self.base_url)


def mount(app: web.Application, pool: AsyncConnectionPool, *, ingest: Ingest, secret: str,
          base_url: str) -> WebFormChannel:
    app.add_routes(WidgetPages(pool).routes())
    forms = WebFormChannel(pool, ingest=ingest, confirm=FormConfirmationSender(pool, base_url), secret=secret)
    app.add_routes(forms.routes())
    return forms
