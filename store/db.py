"""Connection pool and the migration runner.

Migrations are plain numbered SQL files applied in one transaction each under a PostgreSQL advisory
lock, so two processes starting at once apply each file exactly once.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import psycopg
from pgvector.psycopg import register_vector_async
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

MIGRATION_LOCK_ID = 0x5377_6974_6368  # "Switch"


class DatabaseError(RuntimeError):
    """A database problem described for the person running Switchboard."""


def migration_files() -> list[tuple[int, str, str]]:
    files = []
    for entry in resources.files("store.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            files.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(files)


def latest_version() -> int:
    return migration_files()[-1][0]


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    try:
        await register_vector_async(conn)
    except psycopg.ProgrammingError:
        # The vector type does not exist before the first migration; migrate() reconnects after it.
        pass


async def check_vector_available(conn: psycopg.AsyncConnection[Any]) -> None:
    cur = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
    if await cur.fetchone() is None:
        raise DatabaseError(
            "the PostgreSQL server at DATABASE_URL has no 'vector' extension (pgvector). Install pgvector "
            "on that server, or unset DATABASE_URL to use the embedded PostgreSQL with pgvector."
        )


async def migrate(dsn: str) -> list[str]:
    """Apply pending migrations; returns the names applied. Safe to run from many processes at once."""
    applied: list[str] = []
    try:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to the database at DATABASE_URL: {exc}".strip()) from exc
    async with conn:
        await check_vector_available(conn)
        await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
                " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
            for version, name, sql in migration_files():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)  # type: ignore[arg-type]
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (version, name, hashlib.sha256(sql.encode()).hexdigest()),
                    )
                applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
    return applied


async def current_version(pool: AsyncConnectionPool) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")
        row = await cur.fetchone()
        return int(row["v"]) if row else 0


async def open_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        open=False,
        configure=_configure,
        kwargs={"row_factory": dict_row},
        timeout=30,
    )
    try:
        await pool.open(wait=True, timeout=15)
    except Exception as exc:
        raise DatabaseError(f"cannot open a connection pool to DATABASE_URL: {exc}") from exc
    return pool
