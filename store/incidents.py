"""Incidents: conversations whose customers report the same thing within minutes, on any channel.

The store does not embed or decide: callers pass vectors and thresholds in. Matching is by cosine
similarity in SQL (pgvector) so several workers see one truth; the caller serialises *forming* an
incident per tenant with ``lock_tenant`` so two workers cannot each form their own from the same burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from psycopg import AsyncConnection

LOCK_CLASS = 0x1C1D  # advisory-lock namespace for per-tenant incident detection
# Tenant setting "incidents": min_reports distinct customers writing something at least `similarity`
# alike (cosine) within window_minutes form an incident; later similar messages get `notice`.
INCIDENT_DEFAULTS: dict[str, Any] = {
    "enabled": True, "min_reports": 3, "window_minutes": 30, "similarity": 0.8,
    "notice": "Thanks for letting us know. We are aware of this issue and are working on it;"
              " we will update you here as soon as it is fixed.",
}


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    conversation_id: int
    message_id: int
    customer_id: int
    text: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    tenant_id: int
    status: str
    title: str
    created_at: datetime
    last_report_at: datetime
    resolved_at: datetime | None
    customers: int  # member conversations' distinct customers


def _vec(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, dtype=np.float32)


async def lock_tenant(conn: AsyncConnection[Any], tenant_id: int) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, tenant_id))


async def membership(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> int | None:
    cur = await conn.execute("SELECT incident_id FROM incident_members WHERE tenant_id = %s AND conversation_id = %s",
                             (tenant_id, conversation_id))
    row = await cur.fetchone()
    return int(row["incident_id"]) if row else None


async def add_report(conn: AsyncConnection[Any], tenant_id: int, *, conversation_id: int, message_id: int,
                     customer_id: int, text: str, embedding: np.ndarray) -> int | None:
    """Records one examined message; None when it was examined before (a retried job)."""
    cur = await conn.execute(
        "INSERT INTO incident_reports (tenant_id, conversation_id, message_id, customer_id, text, embedding)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant_id, message_id) DO NOTHING RETURNING id",
        (tenant_id, conversation_id, message_id, customer_id, text[:2000], _vec(embedding)))
    row = await cur.fetchone()
    return int(row["id"]) if row else None


async def nearest_open(conn: AsyncConnection[Any], tenant_id: int, embedding: np.ndarray, min_similarity: float
                       ) -> tuple[int, float] | None:
    """The open incident most similar to the vector, if it is similar enough."""
    cur = await conn.execute(
        "SELECT id, 1 - (centroid <=> %s::vector) AS sim FROM incidents WHERE tenant_id = %s AND status = 'open'"
        " ORDER BY centroid <=> %s::vector LIMIT 1", (_vec(embedding), tenant_id, _vec(embedding)))
    row = await cur.fetchone()
    if row is None or float(row["sim"]) < min_similarity:
        return None
    return int(row["id"]), float(row["sim"])


async def similar_recent(conn: AsyncConnection[Any], tenant_id: int, embedding: np.ndarray, *, min_similarity: float,
                         window_minutes: float, limit: int = 200) -> list[Report]:
    """Reports in the window not yet in an incident, at least ``min_similarity`` to the vector, newest first."""
    cur = await conn.execute(
        "SELECT id, conversation_id, message_id, customer_id, text, 1 - (embedding <=> %(v)s::vector) AS sim"
        " FROM incident_reports WHERE tenant_id = %(t)s AND incident_id IS NULL"
        "   AND created_at > now() - make_interval(secs => %(w)s)"
        "   AND 1 - (embedding <=> %(v)s::vector) >= %(s)s"
        " ORDER BY created_at DESC LIMIT %(n)s",
        {"v": _vec(embedding), "t": tenant_id, "w": window_minutes * 60, "s": min_similarity, "n": limit})
    return [Report(int(r["id"]), int(r["conversation_id"]), int(r["message_id"]), int(r["customer_id"]), r["text"],
                   float(r["sim"])) for r in await cur.fetchall()]


async def create(conn: AsyncConnection[Any], tenant_id: int, *, title: str, centroid: np.ndarray) -> int:
    cur = await conn.execute("INSERT INTO incidents (tenant_id, title, centroid) VALUES (%s, %s, %s) RETURNING id",
                             (tenant_id, title[:300], _vec(centroid)))
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def report_vectors(conn: AsyncConnection[Any], tenant_id: int, report_ids: list[int]) -> np.ndarray:
    cur = await conn.execute("SELECT embedding FROM incident_reports WHERE tenant_id = %s AND id = ANY(%s)",
                             (tenant_id, report_ids))
    return np.stack([np.asarray(r["embedding"].to_numpy(), dtype=np.float32) for r in await cur.fetchall()])


async def join(conn: AsyncConnection[Any], tenant_id: int, incident_id: int, report: Report) -> bool:
    """Adds the report's conversation to the incident; False when the conversation already belongs to one."""
    await conn.execute("UPDATE incident_reports SET incident_id = %s WHERE tenant_id = %s AND id = %s",
                       (incident_id, tenant_id, report.id))
    cur = await conn.execute(
        "INSERT INTO incident_members (tenant_id, incident_id, conversation_id, message_id) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (tenant_id, conversation_id) DO NOTHING RETURNING conversation_id",
        (tenant_id, incident_id, report.conversation_id, report.message_id))
    joined = await cur.fetchone() is not None
    await conn.execute("UPDATE incidents SET last_report_at = now() WHERE tenant_id = %s AND id = %s",
                       (tenant_id, incident_id))
    return joined


async def mark_notified(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> None:
    await conn.execute("UPDATE incident_members SET notified_at = now() WHERE tenant_id = %s AND conversation_id = %s",
                       (tenant_id, conversation_id))


async def prune_reports(conn: AsyncConnection[Any], tenant_id: int, older_than_minutes: float) -> int:
    """Drops evidence too old to form an incident (members keep their own rows)."""
    cur = await conn.execute(
        "DELETE FROM incident_reports WHERE tenant_id = %s AND incident_id IS NULL"
        " AND created_at < now() - make_interval(secs => %s)", (tenant_id, older_than_minutes * 60))
    return cur.rowcount


_INCIDENT_SQL = (
    "SELECT i.id, i.tenant_id, i.status, i.title, i.created_at, i.last_report_at, i.resolved_at,"
    " (SELECT count(DISTINCT c.customer_id) FROM incident_members m JOIN conversations c"
    "   ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
    "   WHERE m.tenant_id = i.tenant_id AND m.incident_id = i.id) AS customers FROM incidents i")


def _incident(row: dict[str, Any]) -> Incident:
    return Incident(int(row["id"]), int(row["tenant_id"]), row["status"], row["title"], row["created_at"],
                    row["last_report_at"], row["resolved_at"], int(row["customers"]))


async def get(conn: AsyncConnection[Any], tenant_id: int, incident_id: int) -> Incident | None:
    cur = await conn.execute(f"{_INCIDENT_SQL} WHERE i.tenant_id = %s AND i.id = %s", (tenant_id, incident_id))
    row = await cur.fetchone()
    return _incident(row) if row else None


async def list_recent(conn: AsyncConnection[Any], tenant_id: int, *, status: str | None = None, limit: int = 50
                      ) -> list[Incident]:
    cur = await conn.execute(
        f"{_INCIDENT_SQL} WHERE i.tenant_id = %s AND (%s::text IS NULL OR i.status = %s)"
        " ORDER BY i.status = 'open' DESC, i.last_report_at DESC LIMIT %s", (tenant_id, status, status, limit))
    return [_incident(r) for r in await cur.fetchall()]


async def members(conn: AsyncConnection[Any], tenant_id: int, incident_id: int) -> list[dict[str, Any]]:
    """Member conversations with their status, channel and the report that joined them, oldest first."""
    cur = await conn.execute(
        "SELECT m.conversation_id, m.joined_at, m.notified_at, c.status, c.last_channel, c.customer_id,"
        " cu.display_name AS customer, r.text AS report"
        " FROM incident_members m JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
        " JOIN customers cu ON cu.tenant_id = c.tenant_id AND cu.id = c.customer_id"
        " LEFT JOIN incident_reports r ON r.tenant_id = m.tenant_id AND r.message_id = m.message_id"
        " WHERE m.tenant_id = %s AND m.incident_id = %s ORDER BY m.joined_at, m.conversation_id LIMIT 1000",
        (tenant_id, incident_id))
    return [dict(r) for r in await cur.fetchall()]


async def resolve(conn: AsyncConnection[Any], tenant_id: int, incident_id: int) -> bool:
    cur = await conn.execute(
        "UPDATE incidents SET status = 'resolved', resolved_at = now() WHERE tenant_id = %s AND id = %s"
        " AND status = 'open'", (tenant_id, incident_id))
    return cur.rowcount > 0
