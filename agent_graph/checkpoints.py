"""LangGraph's PostgreSQL checkpointer: its own small pool and its own schema steps.

The saver needs autocommit connections with ``dict_row`` and no prepared statements (it is used
behind PgBouncer-style poolers too), unlike the store's pool, so it gets a pool of its own on the
same database. Its schema is versioned by the library (``checkpoint_migrations``) and one step uses
CREATE INDEX CONCURRENTLY, which cannot run inside our migration transactions; ``setup_checkpoints``
applies it under an advisory lock so processes starting together do not race.
"""

from __future__ import annotations

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
    """Creates or upgrades the checkpoint tables; safe to call from every process at start-up."""
    async with pool.connection() as lock_conn:
        await lock_conn.execute("SELECT pg_advisory_lock(%s)", (CHECKPOINT_LOCK_ID,))
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
