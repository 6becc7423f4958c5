"""SLA policies per urgency × tier. The defaults are the seeds' numbers (minutes)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

DEFAULT_POLICIES = {  # urgency: (first response, resolution)
    "critical": (30, 240),
    "high": (60, 480),
    "medium": (240, 1440),
    "low": (480, 2880),
}


async def seed_defaults(conn: AsyncConnection[Any], tenant_id: int, tier: str = "standard") -> None:
    for urgency, (first, resolution) in DEFAULT_POLICIES.items():
        await conn.execute(
            "INSERT INTO sla_policies (tenant_id, urgency, tier, first_response_minutes, resolution_minutes)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (tenant_id, urgency, tier) DO NOTHING",
            (tenant_id, urgency, tier, first, resolution),
        )


async def policies(conn: AsyncConnection[Any], tenant_id: int) -> list[dict[str, Any]]:
    cur = await conn.execute("SELECT * FROM sla_policies WHERE tenant_id = %s ORDER BY first_response_minutes", (tenant_id,))
    return list(await cur.fetchall())
