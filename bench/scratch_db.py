"""A throwaway embedded PostgreSQL with pgvector for a benchmark run (nothing of the user's is touched)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from psycopg import conninfo

from store.embedded import EmbeddedPostgres


@asynccontextmanager
async def scratch_database(prefix: str = "sb-bench-") -> AsyncIterator[str]:
    """Yields the DSN of an empty database on a private server that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg")
        admin = await asyncio.to_thread(server.start)
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute('CREATE DATABASE "bench"')
            params = conninfo.conninfo_to_dict(admin)
            params["dbname"] = "bench"
            yield conninfo.make_conninfo(**params)
        finally:
            await asyncio.to_thread(server.stop)
