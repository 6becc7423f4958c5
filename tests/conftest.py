"""Test harness: one private PostgreSQL (with pgvector) per test run, a fresh database per test.

The server is the embedded one Switchboard itself uses (started under pytest's temp dir), unless
SWITCHBOARD_TEST_ADMIN_DSN points at a server you run. Each test gets a database cloned from a
migrated template, so tests never see each other's rows and runs can go in parallel.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo
from psycopg_pool import AsyncConnectionPool

from store import db, tenants
from store.embedded import EmbeddedPostgres
from store.tenants import Tenant
from tests.servers.smtp import SmtpServer


def pytest_configure(config: pytest.Config) -> None:
    """Each run gets its own temp root: pytest prunes old numbered dirs under a shared one, which
    would delete a concurrent run's embedded database."""
    if not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="sb-tests-")


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
TEMPLATE = "sb_template"


def _with_db(dsn: str, dbname: str) -> str:
    params = conninfo.conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return conninfo.make_conninfo(**params)


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("SWITCHBOARD_TEST_ADMIN_DSN")
    if external:
        yield external
        return
    # Short path: the server's Unix socket lives in the data dir and socket paths are length-limited.
    server = EmbeddedPostgres(Path(tmp_path_factory.mktemp("pg")))
    dsn = server.start()
    yield dsn
    server.stop()


@pytest.fixture(scope="session")
def template_db(pg_admin_dsn: str) -> str:
    name = f"{TEMPLATE}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    asyncio.run(db.migrate(_with_db(pg_admin_dsn, name)))
    return name


@pytest.fixture
def dsn(pg_admin_dsn: str, template_db: str) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield _with_db(pg_admin_dsn, name)
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_dsn(pg_admin_dsn: str) -> Iterator[str]:
    """A database with nothing in it, for migration tests."""
    name = f"e_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _with_db(pg_admin_dsn, name)
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[AsyncConnectionPool]:
    p = await db.open_pool(dsn, max_size=20)
    yield p
    await p.close()


@pytest.fixture
async def tenant(pool: AsyncConnectionPool) -> Tenant:
    async with pool.connection() as conn:
        return await tenants.create(conn, f"acme-{uuid.uuid4().hex[:6]}", "Acme")


@pytest.fixture
async def other_tenant(pool: AsyncConnectionPool) -> Tenant:
    async with pool.connection() as conn:
        return await tenants.create(conn, f"globex-{uuid.uuid4().hex[:6]}", "Globex")


@pytest.fixture
async def gateway(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[object]:
    from tests.servers.gateway import running_gateway

    async with running_gateway(pool, dsn, tmp_path) as gw:
        yield gw


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A private SMTP server recording what it receives (aiosmtpd), for any test that sends mail."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
