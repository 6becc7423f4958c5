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
    active: bool = True
    promoted_at: datetime | None = None
    source: str = "auto"


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A stored head without its bytes: what the console lists (accuracy, when it went live)."""

    version: int
    source: str
    active: bool
    metrics: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None


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


async def stamp(conn: AsyncConnection[Any], tenant_id: int) -> tuple[int, int, int | None]:
    """(examples, newest example id, serving version): changes whenever the tenant's classifier could.

    Examples are only ever added or deleted, never edited, so this one cheap row tells a process that
    its cached classifier is still the one to use without reading every example on every message.
    """
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM classifier_examples WHERE tenant_id = %(t)s) AS n,"
        " (SELECT coalesce(max(id), 0) FROM classifier_examples WHERE tenant_id = %(t)s) AS last,"
        " (SELECT version FROM classifier_models WHERE tenant_id = %(t)s AND active) AS version", {"t": tenant_id})
    row = await cur.fetchone()
    assert row is not None
    return int(row["n"]), int(row["last"]), row["version"]


def _stored(row: dict[str, Any]) -> StoredModel:
    return StoredModel(row["id"], row["tenant_id"], row["version"], row["embedder"], tuple(row["labels"]),
                       bytes(row["model"]), row["examples_hash"], row["metrics"], row["created_at"],
                       row["active"], row["promoted_at"], row["source"])


async def latest_model(conn: AsyncConnection[Any], tenant_id: int) -> StoredModel | None:
    """The version that serves: the active one (not the newest, which may be a refused candidate)."""
    cur = await conn.execute("SELECT * FROM classifier_models WHERE tenant_id = %s AND active", (tenant_id,))
    row = await cur.fetchone()
    return None if row is None else _stored(row)


async def model_version(conn: AsyncConnection[Any], tenant_id: int, version: int) -> StoredModel | None:
    cur = await conn.execute("SELECT * FROM classifier_models WHERE tenant_id = %s AND version = %s",
                             (tenant_id, version))
    row = await cur.fetchone()
    return None if row is None else _stored(row)


async def versions(conn: AsyncConnection[Any], tenant_id: int) -> list[ModelVersion]:
    """Every stored version, newest first."""
    cur = await conn.execute(
        "SELECT version, source, active, metrics, created_at, promoted_at FROM classifier_models"
        " WHERE tenant_id = %s ORDER BY version DESC", (tenant_id,))
    return [ModelVersion(r["version"], r["source"], r["active"], r["metrics"], r["created_at"], r["promoted_at"])
            for r in await cur.fetchall()]


async def activate(conn: AsyncConnection[Any], tenant_id: int, version: int) -> None:
    """Makes ``version`` the serving head (promotion or rollback); call inside a transaction."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('classifier_models'), %s::int)", (tenant_id,))
    await conn.execute("UPDATE classifier_models SET active = false WHERE tenant_id = %s AND active", (tenant_id,))
    cur = await conn.execute(
        "UPDATE classifier_models SET active = true, promoted_at = now() WHERE tenant_id = %s AND version = %s",
        (tenant_id, version))
    if cur.rowcount != 1:
        raise LookupError(f"tenant {tenant_id} has no classifier version {version}")


async def previous_promoted(conn: AsyncConnection[Any], tenant_id: int, before_version: int) -> int | None:
    """The newest version older than ``before_version`` that ever served: where a rollback goes."""
    cur = await conn.execute(
        "SELECT max(version) AS v FROM classifier_models WHERE tenant_id = %s AND version < %s"
        " AND promoted_at IS NOT NULL", (tenant_id, before_version))
    row = await cur.fetchone()
    return int(row["v"]) if row and row["v"] is not None else None


async def feedback_examples(conn: AsyncConnection[Any], tenant_id: int) -> list[Example]:
    """Labels the tenant's agents produced while working: category corrections and resolved conversations.

    A correction labels the message it corrected (the latest correction wins). A resolved
    conversation labels its opening question with the category it ended with, but only if an agent
    owned it: a conversation the AI closed alone would teach the model its own guesses.
    """
    cur = await conn.execute(
        "SELECT DISTINCT ON (mc.id) msg.text, o.new_value AS category FROM classification_overrides o"
        " JOIN message_classifications mc ON mc.tenant_id = o.tenant_id AND mc.id = o.classification_id"
        " JOIN messages msg ON msg.tenant_id = mc.tenant_id AND msg.id = mc.message_id"
        " WHERE o.tenant_id = %s AND o.field = 'category' AND coalesce(msg.text, '') <> ''"
        " ORDER BY mc.id, o.id DESC", (tenant_id,))
    out = [Example(r["text"], r["category"], "override") for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT r.question AS text, r.category FROM resolved_conversations r"
        " JOIN conversations c ON c.tenant_id = r.tenant_id AND c.id = r.conversation_id"
        " WHERE r.tenant_id = %s AND r.category IS NOT NULL AND c.assignee_id IS NOT NULL"
        " ORDER BY r.conversation_id", (tenant_id,))
    out += [Example(r["text"], r["category"], "resolved") for r in await cur.fetchall()]
    return out


async def latest_version(conn: AsyncConnection[Any], tenant_id: int) -> int:
    cur = await conn.execute("SELECT coalesce(max(version), 0) AS v FROM classifier_models WHERE tenant_id = %s",
                             (tenant_id,))
    row = await cur.fetchone()
    return int(row["v"]) if row else 0


async def save_model(
    conn: AsyncConnection[Any], tenant_id: int, *, embedder: str, labels: Sequence[str], model: bytes,
    examples_hash: str, metrics: dict[str, Any], active: bool = True, source: str = "auto",
) -> int:
    """Stores a new version (serialized per tenant by a transaction-scoped advisory lock).

    ``active=False`` keeps a refused candidate for the record without letting it serve.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('classifier_models'), %s::int)", (tenant_id,))
    version = await latest_version(conn, tenant_id) + 1
    await conn.execute(
        "INSERT INTO classifier_models (tenant_id, version, embedder, labels, model, examples_hash, metrics, source)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (tenant_id, version, embedder, list(labels), model, examples_hash, json.dumps(metrics), source),
    )
    if active:
        await activate(conn, tenant_id, version)
    return version


# What the urgency head predicts; "critical" is raised only by tenant safety rules, so a correction to
# it is a safety-rule matter, not a label for the head.
URGENCY_LABELS = ("low", "medium", "high")


@dataclass(frozen=True, slots=True)
class StoredUrgencyModel:
    version: int
    embedder: str
    labels: tuple[str, ...]
    model: bytes
    metrics: dict[str, Any]
    active: bool
    created_at: datetime
    promoted_at: datetime | None


async def urgency_feedback_examples(conn: AsyncConnection[Any], tenant_id: int) -> list[tuple[str, str]]:
    """(message text, urgency) from agents' urgency corrections, the latest correction per message winning."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (mc.id) msg.text, o.new_value AS urgency FROM classification_overrides o"
        " JOIN message_classifications mc ON mc.tenant_id = o.tenant_id AND mc.id = o.classification_id"
        " JOIN messages msg ON msg.tenant_id = mc.tenant_id AND msg.id = mc.message_id"
        " WHERE o.tenant_id = %s AND o.field = 'urgency' AND coalesce(msg.text, '') <> ''"
        " ORDER BY mc.id, o.id DESC", (tenant_id,))
    return [(r["text"], r["urgency"]) for r in await cur.fetchall() if r["urgency"] in URGENCY_LABELS]


def _urgency_model(row: dict[str, Any]) -> StoredUrgencyModel:
    return StoredUrgencyModel(row["version"], row["embedder"], tuple(row["labels"]), bytes(row["model"]),
                              row["metrics"], row["active"], row["created_at"], row["promoted_at"])


async def active_urgency_model(conn: AsyncConnection[Any], tenant_id: int) -> StoredUrgencyModel | None:
    """The tenant's serving urgency head; None means the shared head serves."""
    cur = await conn.execute("SELECT * FROM urgency_models WHERE tenant_id = %s AND active", (tenant_id,))
    row = await cur.fetchone()
    return None if row is None else _urgency_model(row)


async def active_urgency_version(conn: AsyncConnection[Any], tenant_id: int) -> int | None:
    """One cheap row per message: tells a process whether its cached head is still the one to use."""
    cur = await conn.execute("SELECT version FROM urgency_models WHERE tenant_id = %s AND active", (tenant_id,))
    row = await cur.fetchone()
    return None if row is None else int(row["version"])


async def urgency_versions(conn: AsyncConnection[Any], tenant_id: int) -> list[StoredUrgencyModel]:
    """Every stored urgency head, newest first."""
    cur = await conn.execute("SELECT * FROM urgency_models WHERE tenant_id = %s ORDER BY version DESC", (tenant_id,))
    return [_urgency_model(r) for r in await cur.fetchall()]


async def save_urgency_model(conn: AsyncConnection[Any], tenant_id: int, *, embedder: str, labels: Sequence[str],
                             model: bytes, metrics: dict[str, Any], active: bool) -> int:
    """Stores a candidate (serialised per tenant); ``active`` makes it serve instead of the previous one."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('urgency_models'), %s::int)", (tenant_id,))
    cur = await conn.execute("SELECT coalesce(max(version), 0) + 1 AS v FROM urgency_models WHERE tenant_id = %s",
                             (tenant_id,))
    row = await cur.fetchone()
    assert row is not None
    version = int(row["v"])
    if active:
        await conn.execute("UPDATE urgency_models SET active = false WHERE tenant_id = %s AND active", (tenant_id,))
    await conn.execute(
        "INSERT INTO urgency_models (tenant_id, version, embedder, labels, model, metrics, active, promoted_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, CASE WHEN %s THEN now() END)",
        (tenant_id, version, embedder, list(labels), model, json.dumps(metrics), active, active))
    return version


async def feedback_labels_since(conn: AsyncConnection[Any], tenant_id: int, since: datetime | None) -> int:
    """How many feedback labels (see :func:`feedback_examples`, and urgency corrections, which the same
    retrain learns from) arrived after ``since`` (None: ever).

    What a scheduled retrain checks first: without enough new labels a candidate would be trained on
    the same data as the model it is compared with.
    """
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM classification_overrides WHERE tenant_id = %(t)s"
        "   AND field IN ('category', 'urgency')"
        "   AND (%(since)s::timestamptz IS NULL OR created_at > %(since)s))"
        " + (SELECT count(*) FROM resolved_conversations r JOIN conversations c"
        "   ON c.tenant_id = r.tenant_id AND c.id = r.conversation_id WHERE r.tenant_id = %(t)s"
        "   AND r.category IS NOT NULL AND c.assignee_id IS NOT NULL"
        "   AND (%(since)s::timestamptz IS NULL OR r.resolved_at > %(since)s)) AS n",
        {"t": tenant_id, "since": since})
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def last_retrain_at(conn: AsyncConnection[Any], tenant_id: int) -> datetime | None:
    """When the feedback loop last trained a candidate (promoted or refused)."""
    cur = await conn.execute("SELECT max(created_at) AS at FROM classifier_models WHERE tenant_id = %s"
                             " AND source = 'retrain'", (tenant_id,))
    row = await cur.fetchone()
    return row["at"] if row else None
