"""Resolved conversations as retrieval context for agents.

These rows hold what a customer asked and what solved it, which can include that customer's
personal data. So they are searchable only within the tenant, and callers must show them to agents
only: an automatic customer-visible answer is composed from KB passages alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from psycopg import AsyncConnection

from store import jobs
from store.kb import snippet
from store.models import Source

# The job kind that indexes a resolved conversation. Whoever resolves (the console, a customer's
# button) enqueues it in the resolving transaction; the gateway's worker hands it to the brain, which
# owns the embedding model; the store and the console never embed.
REMEMBER_RESOLVED = "remember_resolved"


async def remember(
    conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, question: str, answer: str,
    category: str | None, embedding: np.ndarray,
) -> None:
    await conn.execute(
        "INSERT INTO resolved_conversations (tenant_id, conversation_id, question, answer, category, embedding)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET"
        " question = excluded.question, answer = excluded.answer, category = excluded.category,"
        " embedding = excluded.embedding, resolved_at = now()",
        (tenant_id, conversation_id, question, answer, category, np.asarray(embedding, dtype=np.float32)),
    )


async def enqueue_remember(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> None:
    """Queues indexing of a just-resolved conversation, in the caller's transaction (so a rolled-back
    resolve queues nothing); one pending job per conversation however often it is resolved."""
    await jobs.enqueue(conn, tenant_id, REMEMBER_RESOLVED, dedupe_key=f"{REMEMBER_RESOLVED}:{conversation_id}",
                       payload={"conversation_id": conversation_id})


async def forget(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> None:
    """A reopened conversation was not solved after all; it stops being an example."""
    await conn.execute("DELETE FROM resolved_conversations WHERE tenant_id = %s AND conversation_id = %s",
                       (tenant_id, conversation_id))


async def search(
    conn: AsyncConnection[Any], tenant_id: int, embedding: np.ndarray, *, k: int = 3,
    exclude_conversation_id: int | None = None, min_cosine: float = 0.3,
) -> list[Source]:
    """Similar resolved conversations of this tenant, as agent-facing sources (kind ``conversation``)."""
    await conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
    cur = await conn.execute(
        "SELECT conversation_id, question, answer, 1 - (embedding <=> %s::vector) AS cosine"
        " FROM resolved_conversations WHERE tenant_id = %s AND conversation_id <> %s"
        " ORDER BY embedding <=> %s::vector LIMIT %s",
        (np.asarray(embedding, dtype=np.float32), tenant_id, exclude_conversation_id or -1,
         np.asarray(embedding, dtype=np.float32), k),
    )
    return [
        Source(id=f"conversation:{r['conversation_id']}", title=snippet(r["question"], 80),
               snippet=snippet(r["answer"]), score=round(float(r["cosine"]), 4), kind="conversation")
        for r in await cur.fetchall() if float(r["cosine"]) >= min_cosine
    ]
