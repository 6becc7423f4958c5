"""Questions the knowledge base could not answer: the raw material of gap topics.

A conversation is a gap when the agent graph handed it off or scored it below the tenant's weakest
acceptable confidence; its first customer message is the question and what agents wrote in it is
how the question actually got answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class GapQuestion:
    conversation_id: int
    question: str
    created_at: datetime
    agent_answers: tuple[str, ...]


async def gap_questions(conn: AsyncConnection[Any], tenant_id: int, *, since: datetime, until: datetime,
                        low_confidence: float, limit: int = 1000) -> list[GapQuestion]:
    """Gap conversations created in [since, until), newest first, at most ``limit``."""
    cur = await conn.execute(
        "SELECT c.id, c.created_at,"
        " (SELECT m.text FROM messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
        "   AND m.direction = 'in' ORDER BY m.seq LIMIT 1) AS question,"
        " coalesce((SELECT array_agg(m.text ORDER BY m.seq) FROM messages m WHERE m.tenant_id = c.tenant_id"
        "   AND m.conversation_id = c.id AND m.direction = 'out' AND m.author_kind = 'agent'), '{}') AS answers"
        " FROM conversations c WHERE c.tenant_id = %(t)s AND c.created_at >= %(since)s AND c.created_at < %(until)s"
        " AND EXISTS (SELECT 1 FROM agent_runs r WHERE r.tenant_id = c.tenant_id AND r.conversation_id = c.id"
        "   AND (r.decision = 'handoff' OR r.confidence < %(low)s))"
        " ORDER BY c.created_at DESC LIMIT %(n)s",
        {"t": tenant_id, "since": since, "until": until, "low": low_confidence, "n": limit})
    return [GapQuestion(int(r["id"]), r["question"], r["created_at"], tuple(r["answers"]))
            for r in await cur.fetchall() if r["question"] and r["question"].strip()]
