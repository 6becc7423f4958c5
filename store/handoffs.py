"""Escalation summaries: what the agent taking a conversation over reads first."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from store.models import Source


@dataclass(frozen=True, slots=True)
class HandoffSummary:
    id: int
    tenant_id: int
    conversation_id: int
    message_id: int | None
    reason: str
    reported: str
    tried: tuple[str, ...]
    likely_cause: str
    sources: tuple[Source, ...]
    classification: dict[str, Any]
    assigned_agent_id: int | None
    summary: str
    created_at: datetime


def _summary(row: dict[str, Any]) -> HandoffSummary:
    return HandoffSummary(row["id"], row["tenant_id"], row["conversation_id"], row["message_id"], row["reason"],
                          row["reported"], tuple(row["tried"]), row["likely_cause"],
                          tuple(Source(**s) for s in row["sources"]), row["classification"],
                          row["assigned_agent_id"], row["summary"], row["created_at"])


async def save(
    conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, message_id: int | None, reason: str,
    reported: str, tried: Sequence[str], likely_cause: str, sources: Sequence[Source],
    classification: dict[str, Any], assigned_agent_id: int | None, summary: str,
) -> int:
    cur = await conn.execute(
        "INSERT INTO handoff_summaries (tenant_id, conversation_id, message_id, reason, reported, tried, likely_cause,"
        " sources, classification, assigned_agent_id, summary) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING id",
        (tenant_id, conversation_id, message_id, reason, reported, json.dumps(list(tried)), likely_cause,
         json.dumps([asdict(s) for s in sources]), json.dumps(classification, default=str), assigned_agent_id,
         summary),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def latest(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> HandoffSummary | None:
    cur = await conn.execute(
        "SELECT * FROM handoff_summaries WHERE tenant_id = %s AND conversation_id = %s ORDER BY id DESC LIMIT 1",
        (tenant_id, conversation_id),
    )
    row = await cur.fetchone()
    return _summary(row) if row else None
