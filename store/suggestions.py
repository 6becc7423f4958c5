"""Suggested replies shown to agents, and whether each was sent as is, edited, or discarded."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from psycopg import AsyncConnection

from store.models import Source


async def record(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, agent_id: int | None, text: str,
                 sources: tuple[Source, ...]) -> int:
    cur = await conn.execute(
        "INSERT INTO suggestions (tenant_id, conversation_id, agent_id, text, sources) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING id",
        (tenant_id, conversation_id, agent_id, text, json.dumps([asdict(s) for s in sources])),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


def edit_distance(a: str, b: str, *, cap: int = 20_000) -> int:
    """Levenshtein distance (characters); long texts are compared on their first ``cap`` characters."""
    a, b = a[:cap], b[:cap]
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


async def decide(conn: AsyncConnection[Any], tenant_id: int, suggestion_id: int, *, sent_text: str | None,
                 sent_message_id: int | None) -> str | None:
    """Records what became of a suggestion; returns the outcome (None if unknown or already decided)."""
    cur = await conn.execute(
        "SELECT text FROM suggestions WHERE tenant_id = %s AND id = %s AND outcome IS NULL FOR UPDATE",
        (tenant_id, suggestion_id),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    if sent_text is None:
        outcome, distance = "discarded", None
    else:
        distance = edit_distance(row["text"].strip(), sent_text.strip())
        outcome = "accepted" if distance == 0 else "edited"
    await conn.execute(
        "UPDATE suggestions SET outcome = %s, edit_distance = %s, sent_message_id = %s, decided_at = now()"
        " WHERE tenant_id = %s AND id = %s",
        (outcome, distance, sent_message_id, tenant_id, suggestion_id),
    )
    return outcome
