"""Several processes start on one fresh database: the checkpointer's schema setup must not deadlock."""

from __future__ import annotations

import asyncio

from agent_graph.checkpoints import open_checkpoint_pool, setup_checkpoints


async def test_concurrent_checkpoint_setup_on_a_fresh_database_finishes(dsn: str) -> None:
    pools = [await open_checkpoint_pool(dsn) for _ in range(3)]
    try:
        async with asyncio.timeout(90):  # the old blocking lock hung here forever
            await asyncio.gather(*(setup_checkpoints(p) for p in pools))
        async with pools[0].connection() as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM checkpoint_migrations")
            assert (await cur.fetchone())["n"] > 0
    finally:
        for p in pools:
            await p.close()
