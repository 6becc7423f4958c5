"""A small PostgreSQL job queue for background work (agent runs, SLA ticks, digests).

Jobs are enqueued in the caller's transaction (an agent run commits with the message that caused
it), at most one pending job exists per ``dedupe_key``, and at most one job per key runs at a time,
which is how agent work for one conversation is kept one at a time across processes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    tenant_id: int
    kind: str
    dedupe_key: str | None
    payload: dict[str, Any]
    attempts: int


def _job(row: dict[str, Any]) -> Job:
    return Job(row["id"], row["tenant_id"], row["kind"], row["dedupe_key"], row["payload"], row["attempts"])


async def enqueue(
    conn: AsyncConnection[Any], tenant_id: int, kind: str, *, dedupe_key: str | None = None,
    payload: dict[str, Any] | None = None, delay_seconds: float = 0,
) -> int | None:
    cur = await conn.execute(
        "INSERT INTO jobs (tenant_id, kind, dedupe_key, payload, run_after)"
        " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
        " ON CONFLICT (tenant_id, dedupe_key) WHERE status = 'pending' AND dedupe_key IS NOT NULL DO NOTHING RETURNING id",
        (tenant_id, kind, dedupe_key, json.dumps(payload or {}), delay_seconds),
    )
    row = await cur.fetchone()
    return int(row["id"]) if row else None


async def recover_expired(conn: AsyncConnection[Any]) -> int:
    """Jobs whose worker died: superseded if a newer pending job covers the key, else pending again."""
    await conn.execute(
        "UPDATE jobs r SET status = 'done', finished_at = now(), last_error = 'superseded after lease expiry'"
        " WHERE r.status = 'running' AND r.locked_until < now() AND r.dedupe_key IS NOT NULL AND EXISTS ("
        "   SELECT 1 FROM jobs p WHERE p.tenant_id = r.tenant_id AND p.dedupe_key = r.dedupe_key AND p.status = 'pending')"
    )
    cur = await conn.execute(
        "UPDATE jobs SET status = 'pending', locked_until = NULL WHERE status = 'running' AND locked_until < now()"
    )
    return cur.rowcount


async def claim(conn: AsyncConnection[Any], kinds: list[str], *, lease_seconds: float = 60) -> Job | None:
    cur = await conn.execute(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = now() + make_interval(secs => %s)"
        " WHERE id = (SELECT j.id FROM jobs j WHERE j.status = 'pending' AND j.run_after <= now() AND j.kind = ANY(%s)"
        "   AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.tenant_id = j.tenant_id AND r.dedupe_key = j.dedupe_key"
        "     AND r.status = 'running')"
        "   ORDER BY j.run_after, j.id FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING *",
        (lease_seconds, kinds),
    )
    row = await cur.fetchone()
    return _job(row) if row else None


async def extend(conn: AsyncConnection[Any], job_id: int, lease_seconds: float) -> None:
    await conn.execute(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => %s) WHERE id = %s AND status = 'running'",
        (lease_seconds, job_id),
    )


async def finish(conn: AsyncConnection[Any], job_id: int) -> None:
    await conn.execute("UPDATE jobs SET status = 'done', finished_at = now() WHERE id = %s", (job_id,))


async def fail(conn: AsyncConnection[Any], job_id: int, error: str, *, retry_in: float | None) -> None:
    if retry_in is None:
        await conn.execute(
            "UPDATE jobs SET status = 'failed', finished_at = now(), last_error = %s WHERE id = %s", (error[:2000], job_id)
        )
        return
    # Back to pending unless a newer pending job for the key exists (it will redo the work).
    cur = await conn.execute(
        "UPDATE jobs j SET status = 'pending', locked_until = NULL, last_error = %s,"
        " run_after = now() + make_interval(secs => %s) WHERE id = %s AND NOT EXISTS ("
        "  SELECT 1 FROM jobs p WHERE p.tenant_id = j.tenant_id AND p.dedupe_key = j.dedupe_key AND p.status = 'pending')",
        (error[:2000], retry_in, job_id),
    )
    if cur.rowcount == 0:
        await conn.execute(
            "UPDATE jobs SET status = 'done', finished_at = now(), last_error = %s WHERE id = %s",
            (f"superseded after error: {error}"[:2000], job_id),
        )
