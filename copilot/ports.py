"""What the console needs from the gateway, passed in when the gateway wires things together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from psycopg import AsyncConnection

from agent_graph.runner import SuggestionChunk
from store.models import AuthorKind, Channel, Message, Reply


class ReplyPath(Protocol):
    """The one reply path: Reply → channel formatter → message + outbox row, on ``conn``."""

    async def __call__(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, reply: Reply, *,
                      author_kind: AuthorKind, author_id: int | None = None, answers_message_id: int | None = None,
                      channel: Channel | None = None, base_url: str = "") -> Message: ...


class Suggester(Protocol):
    def suggest(self, tenant_id: int, conversation_id: int) -> AsyncIterator[SuggestionChunk]: ...


class Availability(Protocol):
    """Sets an agent's availability on ``conn``; going away puts their open conversations back through
    routing (the gateway's router does this). Returns the re-queued conversation ids."""

    async def set_availability(self, conn: AsyncConnection[Any], tenant_id: int, agent_id: int, available: bool, *,
                               actor: str) -> list[int]: ...
