"""What the brain needs from rooms above it, as Protocols the gateway implements (no upward imports)."""

from __future__ import annotations

from typing import Any, Protocol

from psycopg import AsyncConnection

from store.models import Message, Reply


class ReplySink(Protocol):
    """Formats a reply for the conversation's channel and writes message + outbox row on ``conn``.

    Raises ``store.outbox.AIMayNotReply`` when a human owns the conversation; the caller's transaction
    makes that check and the outbox insert one atomic step.
    """

    async def send(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, reply: Reply, *,
                   answers_message_id: int | None) -> Message: ...


class Router(Protocol):
    """Picks a human agent for a handoff; None means nobody eligible (the escalated queue)."""

    async def choose_agent(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                           skills: tuple[str, ...]) -> int | None: ...
