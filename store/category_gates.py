"""Stored per-category auto-resolve gates, one set per classifier version, with their evidence.

Kept per version (not overwritten) because a rollback re-activates an older head and the console
must show the gates that belong to whatever serves; the tenant setting ``auto_gates`` holds only the
thresholds the decide node reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

COLUMNS = ("category", "threshold", "precision", "support", "predicted", "dev_n", "target", "reason", "computed_at")


async def replace(conn: AsyncConnection[Any], tenant_id: int, model_version: int, rows: Sequence[dict[str, Any]], *,
                  dev_n: int, target: float) -> None:
    await conn.execute("DELETE FROM category_gates WHERE tenant_id = %s AND model_version = %s",
                       (tenant_id, model_version))
    for r in rows:
        await conn.execute(
            "INSERT INTO category_gates (tenant_id, model_version, category, threshold, precision, support, predicted,"
            " dev_n, target, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (tenant_id, model_version, r["category"], r["threshold"], r["precision"], r["support"], r["predicted"],
             dev_n, target, r["reason"]))


async def for_version(conn: AsyncConnection[Any], tenant_id: int, model_version: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM category_gates WHERE tenant_id = %s AND model_version = %s"
        " ORDER BY category", (tenant_id, model_version))
    return [dict(row) for row in await cur.fetchall()]
