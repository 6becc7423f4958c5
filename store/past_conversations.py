"""Resolved conversations as retrieval context for agents.

These rows hold what a customer asked and what solved it. They are searchable only within the
tenant, and callers must show them to agents only: an automatic customer-visible answer is composed
from KB passages alone. Agents still see them while helping someone else, so they are stored without
the customer's personal data (``store.pii_redaction``): addresses, long numbers, names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from psycopg import AsyncConnection

from store import conversations, customers, jobs
from store.kb import snippet
from store.models import IdentityKind, Source
from store.pii_redaction import redact

# The job kind that indexes a resolved conversation. Whoever resolves (the console, a customer's
# button) enqueues it in the resolving transaction; the gateway's worker hands it to the brain, which
# owns the embedding model; the store and the console never embed.
REMEMBER_RESOLVED = "remember_resolved"


# How much an answer's origin adds to its cosine when ranking: an agent's correction of an AI draft
# beats the same question answered by the AI alone, at equal similarity and a little below it.
ORIGIN_BONUS = {"edited": 0.05, "agent": 0.02, "ai": 0.0}


async def remember(
    conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, question: str, answer: str,
    category: str | None, embedding: np.ndarray, answer_origin: str = "agent",
) -> None:
    known = await _who(conn, tenant_id, conversation_id)
    question, answer = redact(question, known), redact(answer, known)
    await conn.execute(
        "INSERT INTO resolved_conversations (tenant_id, conversation_id, question, answer, category, embedding,"
        " answer_origin) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET"
        " question = excluded.question, answer = excluded.answer, category = excluded.category,"
        " embedding = excluded.embedding, answer_origin = excluded.answer_origin, resolved_at = now()",
        (tenant_id, conversation_id, question, answer, category, np.asarray(embedding, dtype=np.float32),
         answer_origin),
    )


async def best_answer(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> tuple[str, str] | None:
    """(text, origin) of the answer worth remembering, or None when nothing outbound answered.

    An agent's edit of an AI draft wins over every other answer in the conversation (a later
    "glad to help" is not the solution); otherwise the latest answer. The draft itself is never
    returned: what the agent sent replaced it. Origin: ``edited``, ``agent`` (written or sent as
    drafted by an agent) or ``ai``.
    """
    cur = await conn.execute(
        "SELECT m.text, CASE WHEN s.outcome = 'edited' THEN 'edited'"
        "  WHEN m.author_kind = 'agent' THEN 'agent' ELSE 'ai' END AS origin"
        " FROM messages m LEFT JOIN LATERAL (SELECT outcome FROM suggestions s WHERE s.tenant_id = m.tenant_id"
        "   AND s.sent_message_id = m.id ORDER BY s.id DESC LIMIT 1) s ON true"
        " WHERE m.tenant_id = %s AND m.conversation_id = %s AND m.direction = 'out'"
        " AND m.author_kind IN ('ai', 'agent') AND coalesce(m.reply_kind, 'answer') = 'answer'"
        " AND m.deleted_at IS NULL AND coalesce(m.text, '') <> ''"
        " ORDER BY (s.outcome = 'edited') IS TRUE DESC, m.seq DESC LIMIT 1",
        (tenant_id, conversation_id),
    )
    row = await cur.fetchone()
    return (row["text"], row["origin"]) if row else None


async def _who(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[str]:
    """The customer's names and identity values (address local parts too: "jane.doe" names Jane)."""
    conv = await conversations.get(conn, tenant_id, conversation_id)
    group = await customers.group(conn, tenant_id, conv.customer_id)
    names = [c.display_name for cid in group if (c := await customers.get(conn, tenant_id, cid)) and c.display_name]
    for ident in await customers.identities(conn, tenant_id, group):
        names.append(ident.value.split("@", 1)[0] if ident.kind is IdentityKind.EMAIL else ident.value)
    return names


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
    """Similar resolved conversations of this tenant, as agent-facing sources (kind ``conversation``).

    Ranked by cosine plus the answer's :data:`ORIGIN_BONUS`, over a few more nearest neighbours than
    asked for, so an agent-corrected answer can overtake a slightly closer AI-only one.
    """
    await conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
    cur = await conn.execute(
        "SELECT conversation_id, question, answer, answer_origin, 1 - (embedding <=> %s::vector) AS cosine"
        " FROM resolved_conversations WHERE tenant_id = %s AND conversation_id <> %s"
        " ORDER BY embedding <=> %s::vector LIMIT %s",
        (np.asarray(embedding, dtype=np.float32), tenant_id, exclude_conversation_id or -1,
         np.asarray(embedding, dtype=np.float32), k * 3),
    )
    rows = [r for r in await cur.fetchall() if float(r["cosine"]) >= min_cosine]
    rows.sort(key=lambda r: float(r["cosine"]) + ORIGIN_BONUS.get(r["answer_origin"], 0.0), reverse=True)
    return [
        Source(id=f"conversation:{r['conversation_id']}", title=snippet(r["question"], 80),
               snippet=snippet(r["answer"]), score=round(float(r["cosine"]), 4), kind="conversation")
        for r in rows[:k]
    ]
