"""LangGraph's PostgreSQL checkpointer: its own small pool and its own schema steps.

The saver needs autocommit connections with ``dict_row`` and no prepared statements (it is used
behind PgBouncer-style poolers too), unlike the store's pool, so it gets a pool of its own on the
same database. Its schema is versioned by the library (``checkpoint_migrations``) and one step uses
CREATE INDEX CONCURRENTLY, which cannot run inside our migration transactions; ``setup_checkpoints``
applies it under an advisory lock so processes starting together do not race.
"""

from __future__ import annotations

import asyncio

from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

CHECKPOINT_LOCK_ID = 0x5377_6368_6B70  # "Swchkp"


async def open_checkpoint_pool(dsn: str, *, max_size: int = 4) -> AsyncConnectionPool:
    max_size = max(2, max_size)  # setup_checkpoints holds one connection for its lock
    pool: AsyncConnectionPool = AsyncConnectionPool(
        dsn, min_size=1, max_size=max_size, open=False, timeout=30,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True, timeout=15)
    return pool


async def setup_checkpoints(pool: AsyncConnectionPool) -> None:
    """Creates or upgrades the checkpoint tables; safe to call from every process at start-up.

    Waiters poll ``pg_try_advisory_lock`` instead of blocking in ``pg_advisory_lock``: CREATE INDEX
    CONCURRENTLY waits for every transaction with an older snapshot, including a statement blocked
    on our lock, and that cycle runs through an idle connection PostgreSQL's deadlock detector
    cannot see (two gateways starting on one fresh database hung forever).
    """
    async with pool.connection() as lock_conn:
        delay = 0.05
        while True:
            cur = await lock_conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (CHECKPOINT_LOCK_ID,))
            row = await cur.fetchone()
            if row and row["ok"]:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        try:
            await AsyncPostgresSaver(pool).setup()
        finally:
            await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (CHECKPOINT_LOCK_ID,))


def saver(pool: AsyncConnectionPool) -> AsyncPostgresSaver:
    return AsyncPostgresSaver(pool)


async def delete_thread(pool: AsyncConnectionPool, thread_id: str) -> None:
    """Forgets a conversation's graph state (tenant deletion, GDPR erasure)."""
    await AsyncPostgresSaver(pool).adelete_thread(thread_id)


__all__ = ["delete_thread", "open_checkpoint_pool", "saver", "setup_checkpoints"]
