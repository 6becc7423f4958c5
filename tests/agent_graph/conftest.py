"""Agent graph fixtures: the real offline models (loaded once per session), the demo KB, a runner.

The demo KB is imported once per session into a database that every test's database is cloned
from (as the root conftest does with the migrated schema), so a test pays for a clone, not for
embedding 40 chunks on a shared 2-core machine. The ReplySink is the gateway's own (tests may import
the gateway) and the Router is a real implementation of the port over ``store.agents``, so
assertions are on real outbox rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agent_graph import checkpoints
from agent_graph.embedder import get_embedder
from agent_graph.kb_import import import_directory
from agent_graph.runner import AgentRunner
from gateway.ingest import ingest
from gateway.replies import AIReplySink
from store import agents, conversations, db, tenants
from store.models import IngestResult
from store.tenants import Tenant
from tests import factories as f
from tests.conftest import _with_db

DEMO_KB = Path(__file__).resolve().parents[2] / "gateway" / "demo_kb"


class SkillRouter:
    """The routing rule until the routing issue lands: the least-loaded available agent with the skills."""

    async def choose_agent(
        self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, skills: tuple[str, ...]
    ) -> int | None:
        candidates = await agents.available_with_skills(conn, tenant_id, skills)
        return candidates[0].id if candidates else None


@pytest.fixture(scope="session", autouse=True)
def offline_model() -> None:
    """Loads the sentence model once for the whole session (a cold load takes seconds)."""
    get_embedder().embed(["warm up"])


KB_TENANT = "kb-acme"


@pytest.fixture(scope="session")
def kb_template(pg_admin_dsn: str, template_db: str, offline_model: None) -> str:
    """The migrated schema plus checkpoint tables and a tenant with the demo KB imported."""
    name = f"sb_kb_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')

    async def prepare(dsn: str) -> None:
        pool = await db.open_pool(dsn)
        try:
            async with pool.connection() as conn:
                t = await tenants.create(conn, KB_TENANT, "Acme KB")
            await import_directory(pool, t.id, DEMO_KB, progress=False)
        finally:
            await pool.close()
        cp = await checkpoints.open_checkpoint_pool(dsn)
        try:
            await checkpoints.setup_checkpoints(cp)
        finally:
            await cp.close()

    asyncio.run(prepare(_with_db(pg_admin_dsn, name)))
    return name


@pytest.fixture
def dsn(pg_admin_dsn: str, kb_template: str) -> Iterator[str]:
    """Overrides the root fixture: each test's database is a clone of the KB template."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{kb_template}"')
    yield _with_db(pg_admin_dsn, name)
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def kb_tenant(pool: AsyncConnectionPool) -> Tenant:
    async with pool.connection() as conn:
        t = await tenants.by_slug(conn, KB_TENANT)
    assert t is not None
    return t


@pytest.fixture
async def runner(pool: AsyncConnectionPool) -> AsyncIterator[AgentRunner]:
    r = AgentRunner(pool, reply_sink=AIReplySink("http://switchboard.test"), router=SkillRouter())
    await r.start()
    yield r
    await r.close()


async def say(
    pool: AsyncConnectionPool,
    tenant: Tenant,
    text: str,
    *,
    who: str = "alice@example.com",
    channel: str = "email",
) -> IngestResult:
    msg = f.email(tenant.id, who, text) if channel == "email" else f.chat(tenant.id, who, text)
    return await ingest(pool, msg)


async def ai_outbox(pool: AsyncConnectionPool, tenant_id: int, conversation_id: int) -> list[dict[str, Any]]:
    """Outbox rows carrying AI-authored messages, oldest first, with their reply kind."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT o.*, m.reply_kind, m.text FROM outbox o JOIN messages m ON m.id = o.message_id"
            " WHERE o.tenant_id = %s AND o.conversation_id = %s AND m.author_kind = 'ai' ORDER BY o.id",
            (tenant_id, conversation_id),
        )
        return list(await cur.fetchall())


async def status_of(
    pool: AsyncConnectionPool, tenant_id: int, conversation_id: int
) -> conversations.Conversation:
    async with pool.connection() as conn:
        return await conversations.get(conn, tenant_id, conversation_id)
