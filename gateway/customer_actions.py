"""Buttons customers press under replies, on any channel: talk to a person, this solved it."""

from __future__ import annotations

import logging

from psycopg_pool import AsyncConnectionPool

from gateway.ops.csat import CsatService
from gateway.replies import send_reply
from gateway.routing import SkillRouter
from store import conversations, past_conversations
from store.conversations import AI_MAY_REPLY
from store.models import AuthorKind, ConversationStatus, Reply, ReplyKind

log = logging.getLogger("switchboard.actions")
S = ConversationStatus


class CustomerActionHandler:
    """channels.ports.CustomerActions."""

    def __init__(self, pool: AsyncConnectionPool, router: SkillRouter, base_url: str) -> None:
        self.pool = pool
        self.router = router
        self.base_url = base_url
        self.csat = CsatService(pool, base_url, router.clock)

    async def __call__(self, tenant_id: int, conversation_id: int, action_id: str, *, actor: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, tenant_id, conversation_id, lock=True)
            if action_id == "talk_to_human":
                if conv.status in (S.NEW, *AI_MAY_REPLY, S.RESOLVED, S.CLOSED):
                    await conversations.transition(conn, tenant_id, conversation_id, S.PENDING_AGENT, actor=actor,
                                                   reason="customer asked for a person")
                    await self.router.route(conn, tenant_id, conversation_id, actor="router")
                    await send_reply(conn, tenant_id, conversation_id, Reply(
                        ReplyKind.HANDOFF, "Thanks — a person from our team will reply here soon."),
                        author_kind=AuthorKind.SYSTEM, base_url=self.base_url)
            elif action_id == "solved":
                if conv.status not in (S.RESOLVED, S.CLOSED):
                    await conversations.transition(conn, tenant_id, conversation_id, S.RESOLVED, actor=actor,
                                                   reason="customer confirmed it is solved")
                    await past_conversations.enqueue_remember(conn, tenant_id, conversation_id)
            elif action_id.startswith("csat_") and action_id[5:] in {"1", "2", "3", "4", "5"}:
                # One answer per conversation; a second press or an expired survey is ignored.
                await self.csat.answer(conn, tenant_id, conversation_id, int(action_id[5:]), actor=actor,
                                       now=self.router.clock())
            else:
                raise ValueError(f"unknown action {action_id!r}")
