"""Seeding for ops tests: rows with chosen timestamps, so an injected clock is all the tests need."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from store import agents

T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)  # a Monday


async def customer(pool: AsyncConnectionPool, tenant_id: int, *, tier: str | None = None) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO customers (tenant_id, display_name, plan_tier) VALUES (%s, %s, %s) RETURNING id",
            (tenant_id, "Cust", tier))
        row = await cur.fetchone()
        assert row
        return int(row["id"])


async def conversation(pool: AsyncConnectionPool, tenant_id: int, *, created_at: datetime = T0, status: str = "new",
                       urgency: str | None = "high", channel: str = "chat", customer_id: int | None = None,
                       **cols: Any) -> int:
    cid = customer_id or await customer(pool, tenant_id)
    names = ["tenant_id", "customer_id", "last_channel", "status", "urgency", "created_at", "updated_at", *cols]
    values = [tenant_id, cid, channel, status, urgency, created_at, created_at, *cols.values()]
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"INSERT INTO conversations ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(values))}) RETURNING id",
            values)
        row = await cur.fetchone()
        assert row
        return int(row["id"])


async def agent(pool: AsyncConnectionPool, tenant_id: int, name: str, *, role: str = "agent",
                skills: tuple[str, ...] = (), max_load: int = 5, available: bool = True) -> int:
    async with pool.connection() as conn:
        a = await agents.create(conn, tenant_id, email=f"{name}-{uuid.uuid4().hex[:6]}@team.test", name=name,
                                password_hash="x", role=role, skills=skills, max_load=max_load)
        if not available:
            await conn.execute("UPDATE agents SET available = false WHERE id = %s", (a.id,))
        return a.id


async def rows(pool: AsyncConnectionPool, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return list(await cur.fetchall())


async def classify(pool: AsyncConnectionPool, tenant_id: int, conversation_id: int, skills: tuple[str, ...]) -> None:
    """A customer message with a classification asking for ``skills`` (what routing reads)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, channel, text)"
            " VALUES (%s, %s, 1, 'in', 'customer', 'chat', 'help') RETURNING id", (tenant_id, conversation_id))
        row = await cur.fetchone()
        assert row
        await conn.execute("UPDATE conversations SET last_seq = 1 WHERE id = %s", (conversation_id,))
        await conn.execute(
            "INSERT INTO message_classifications (tenant_id, conversation_id, message_id, category,"
            " category_confidence, urgency, urgency_confidence, sentiment, sentiment_confidence, complexity, skills,"
            " language, language_confidence, backend) VALUES (%s, %s, %s, 'billing', 0.9, 'high', 0.9, 'neutral',"
            " 0.9, 'simple', %s, 'en', 1.0, 'test')", (tenant_id, conversation_id, row["id"], list(skills)))
