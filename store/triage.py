"""What the agent graph concluded about each message, and what it did about it.

Kept apart from ``store.conversations`` (which owns status) because these are observations, not
state: a classification per message, the safety rules that fired, one row per graph run, and agents'
corrections, which are what production accuracy is counted from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from store.models import Classification, ReplyKind

OVERRIDABLE = ("category", "urgency", "sentiment", "language", "complexity")


@dataclass(frozen=True, slots=True)
class StoredClassification:
    id: int
    message_id: int
    classification: Classification
    backend: str
    model_version: int | None


@dataclass(frozen=True, slots=True)
class Accuracy:
    classified: int
    overridden: int

    @property
    def accuracy(self) -> float | None:
        return None if self.classified == 0 else 1 - self.overridden / self.classified


def _classification(row: dict[str, Any]) -> Classification:
    return Classification(
        category=row["category"], category_confidence=float(row["category_confidence"]),
        urgency=row["urgency"], urgency_confidence=float(row["urgency_confidence"]),
        sentiment=row["sentiment"], sentiment_confidence=float(row["sentiment_confidence"]),
        complexity=row["complexity"], skills=tuple(row["skills"]), language=row["language"],
        language_confidence=float(row["language_confidence"]),
    )


async def record_classification(
    conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, message_id: int, c: Classification, *,
    backend: str, model_version: int | None, details: dict[str, Any] | None = None,
) -> int:
    """Stores the message's classification and mirrors it onto the conversation (the queue shows it)."""
    cur = await conn.execute(
        "INSERT INTO message_classifications (tenant_id, conversation_id, message_id, category, category_confidence,"
        " urgency, urgency_confidence, sentiment, sentiment_confidence, complexity, skills, language,"
        " language_confidence, backend, model_version, details)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, message_id) DO UPDATE SET category = excluded.category,"
        " category_confidence = excluded.category_confidence, urgency = excluded.urgency,"
        " urgency_confidence = excluded.urgency_confidence, sentiment = excluded.sentiment,"
        " sentiment_confidence = excluded.sentiment_confidence, complexity = excluded.complexity,"
        " skills = excluded.skills, language = excluded.language, language_confidence = excluded.language_confidence,"
        " backend = excluded.backend, model_version = excluded.model_version, details = excluded.details"
        " RETURNING id",
        (tenant_id, conversation_id, message_id, c.category, c.category_confidence, c.urgency, c.urgency_confidence,
         c.sentiment, c.sentiment_confidence, c.complexity, list(c.skills), c.language, c.language_confidence,
         backend, model_version, json.dumps(details or {}, default=str)),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        "UPDATE conversations SET category = %s, category_confidence = %s, urgency = %s, sentiment = %s, language = %s"
        " WHERE tenant_id = %s AND id = %s",
        (c.category, c.category_confidence, c.urgency, c.sentiment, c.language, tenant_id, conversation_id),
    )
    return int(row["id"])


async def classification_for_message(conn: AsyncConnection[Any], tenant_id: int, message_id: int) -> StoredClassification | None:
    cur = await conn.execute("SELECT * FROM message_classifications WHERE tenant_id = %s AND message_id = %s",
                             (tenant_id, message_id))
    row = await cur.fetchone()
    if row is None:
        return None
    return StoredClassification(row["id"], row["message_id"], _classification(row), row["backend"], row["model_version"])


async def override(
    conn: AsyncConnection[Any], tenant_id: int, message_id: int, *, field: str, new_value: str, agent_id: int | None,
) -> int:
    """An agent corrects one field; the conversation follows the correction."""
    if field not in OVERRIDABLE:
        raise ValueError(f"cannot override {field!r}; one of {OVERRIDABLE}")
    cur = await conn.execute(
        f"SELECT id, conversation_id, {field} AS value FROM message_classifications"
        " WHERE tenant_id = %s AND message_id = %s FOR UPDATE",
        (tenant_id, message_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"message {message_id} has no classification")
    cur = await conn.execute(
        "INSERT INTO classification_overrides (tenant_id, classification_id, field, old_value, new_value, agent_id)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (tenant_id, row["id"], field, row["value"], new_value, agent_id),
    )
    created = await cur.fetchone()
    assert created is not None
    if field in ("category", "urgency", "sentiment", "language"):
        await conn.execute(f"UPDATE conversations SET {field} = %s WHERE tenant_id = %s AND id = %s",
                           (new_value, tenant_id, row["conversation_id"]))
    return int(created["id"])


async def accuracy(conn: AsyncConnection[Any], tenant_id: int, *, field: str = "category", days: int = 30) -> Accuracy:
    """Share of recent classifications no agent corrected (for the manager's dashboard)."""
    if field not in OVERRIDABLE:
        raise ValueError(field)
    cur = await conn.execute(
        "SELECT count(*) AS classified, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM classification_overrides o"
        "   WHERE o.tenant_id = m.tenant_id AND o.classification_id = m.id AND o.field = %s)) AS overridden"
        " FROM message_classifications m WHERE m.tenant_id = %s AND m.created_at > now() - make_interval(days => %s)",
        (field, tenant_id, days),
    )
    row = await cur.fetchone()
    assert row is not None
    return Accuracy(int(row["classified"]), int(row["overridden"]))


async def record_safety_firing(
    conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, message_id: int | None, *, rule: str,
    action: str, matched: str,
) -> None:
    await conn.execute(
        "INSERT INTO safety_firings (tenant_id, conversation_id, message_id, rule, action, matched)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (tenant_id, conversation_id, message_id, rule, action, matched[:500]),
    )


async def safety_firings(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT rule, action, matched, message_id, created_at FROM safety_firings"
        " WHERE tenant_id = %s AND conversation_id = %s ORDER BY id",
        (tenant_id, conversation_id),
    )
    return list(await cur.fetchall())


async def record_run(
    conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, message_id: int | None, *, decision: str,
    acted: bool, reason: str, confidence: float | None, reply_message_id: int | None, backend: str,
) -> None:
    await conn.execute(
        "INSERT INTO agent_runs (tenant_id, conversation_id, message_id, decision, acted, reason, confidence,"
        " reply_message_id, backend) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (tenant_id, conversation_id, message_id, decision, acted, reason[:2000], confidence, reply_message_id, backend),
    )


async def runs(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT * FROM agent_runs WHERE tenant_id = %s AND conversation_id = %s ORDER BY id",
                             (tenant_id, conversation_id))
    return list(await cur.fetchall())


async def set_clarify_turns(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, turns: int) -> None:
    await conn.execute("UPDATE conversations SET clarify_turns = %s WHERE tenant_id = %s AND id = %s",
                       (turns, tenant_id, conversation_id))


async def reply_for(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, answers_message_id: int,
                    kind: ReplyKind) -> int | None:
    """The AI reply of ``kind`` already written for a message, so a retried run does not send twice."""
    cur = await conn.execute(
        "SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = %s AND author_kind = 'ai'"
        " AND reply_kind = %s AND (raw->>'answers_message_id')::bigint = %s ORDER BY id DESC LIMIT 1",
        (tenant_id, conversation_id, kind.value, answers_message_id),
    )
    row = await cur.fetchone()
    return int(row["id"]) if row else None
