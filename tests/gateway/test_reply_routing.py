"""Where a reply goes: the channel of the message it answers; a web form is answered by email."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from gateway.replies import send_reply
from store import outbox
from store.models import AuthorKind, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories as f


async def test_form_is_answered_by_email_and_slack_in_slack(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    form = await ingest(pool, f.form(tenant.id, "formy@example.com", "question from the form"))
    sl = await ingest(pool, f.slack(tenant.id, "T1", "U1", "question in slack"))
    for result in (form, sl):
        async with pool.connection() as conn, conn.transaction():
            await send_reply(conn, tenant.id, result.conversation_id, Reply(ReplyKind.ANSWER, "answer"),
                             author_kind=AuthorKind.AGENT, answers_message_id=result.message_id)
    async with pool.connection() as conn:
        assert [r["channel"] for r in await outbox.for_conversation(conn, tenant.id, form.conversation_id)] == ["email"]
        assert [r["channel"] for r in await outbox.for_conversation(conn, tenant.id, sl.conversation_id)] == ["slack"]
