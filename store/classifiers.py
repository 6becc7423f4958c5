"""Per-tenant classifier training data and trained heads.

A head is a few hundred kilobytes of arrays, so it lives in a row next to the tenant's data: every
worker process loads the same version, and a retrain is one INSERT that the others pick up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    category: str
    source: str


@dataclass(frozen=True, slots=True)
class StoredModel:
    id: int
    tenant_id: int
    version: int
    embedder: str
    labels: tuple[str, ...]
    model: bytes
    examples_hash: str
    metrics: dict[str, Any]
    created_at: datetime


async def add_examples(conn: AsyncConnection[Any], tenant_id: int, examples: Sequence[tuple[str, str]], *,
                       source: str = "admin") -> int:
    """Adds (text, category) pairs; a pair already known is ignored. Returns how many were new."""
    added = 0
    for text, category in examples:
        cur = await conn.execute(
            "INSERT INTO classifier_examples (tenant_id, text, category, source) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (tenant_id, text.strip(), category, source),
        )
        added += cur.rowcount
    return added


async def examples(conn: AsyncConnection[Any], tenant_id: int) -> list[Example]:
    cur = await conn.execute(
        "SELECT text, category, source FROM classifier_examples WHERE tenant_id = %s ORDER BY id", (tenant_id,)
    )
    return [Example(r["text"], r["category"], r["source"]) for r in await cur.fetchall()]


async def latest_model(conn: AsyncConnection[Any], tenant_id: int) -> StoredModel | None:
    cur = await conn.execute(
        "SELECT * FROM classifier_models WHERE tenant_id = %s ORDER BY version DESC LIMIT 1", (tenant_id,)
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return StoredModel(row["id"], row["tenant_id"], row["version"], row["embedder"], tuple(row["labels"]),
                       bytes(row["model"]), row["examples_hash"], row["metrics"], row["created_at"])


async def latest_version(conn: AsyncConnection[Any], tenant_id: int) -> int:
    cur = await conn.execute("SELECT coalesce(max(version), 0) AS v FROM classifier_models WHERE tenant_id = %s",
                             (tenant_id,))
    row = await cur.fetchone()
    return int(row["v"]) if row else 0


async def save_model(
    conn: AsyncConnection[Any], tenant_id: int, *, embedder: str, labels: Sequence[str], model: bytes,
    examples_hash: str, metrics: dict[str, Any],
) -> int:
    """Stores a new version (serialized per tenant by a transaction-scoped advisory lock)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('classifier_models'), %s::int)", (tenant_id,))
    version = await latest_version(conn, tenant_id) + 1
    await conn.execute(
        "INSERT INTO classifier_models (tenant_id, version, embedder, labels, model, examples_hash, metrics)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (tenant_id, version, embedder, list(labels), model, examples_hash, json.dumps(metrics)),
    )
    return version
