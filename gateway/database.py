"""Where the database comes from: DATABASE_URL, or the embedded server under the data directory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool

from gateway.settings import Settings
from store import db
from store.embedded import EmbeddedPostgres

log = logging.getLogger("switchboard.database")


@asynccontextmanager
async def database(settings: Settings, *, migrate: bool = True) -> AsyncIterator[tuple[str, AsyncConnectionPool]]:
    embedded: EmbeddedPostgres | None = None
    dsn = settings.database_url
    if not dsn:
        embedded = EmbeddedPostgres(settings.data_dir / "pg")
        dsn = await asyncio.to_thread(embedded.start)
        log.info("embedded PostgreSQL with pgvector started", extra={"path": str(embedded.data_dir)})
    try:
        if migrate:
            applied = await db.migrate(dsn)
            if applied:
                log.info("migrations applied: %s", ", ".join(applied))
        pool = await db.open_pool(dsn, max_size=settings.pool_max_size)
        try:
            yield dsn, pool
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
