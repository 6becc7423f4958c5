"""A signed-in agent of the test tenant, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from store.tenants import Tenant
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway


@pytest.fixture
async def console(gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> AsyncIterator[ConsoleClient]:
    await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    c = ConsoleClient(gateway.url)
    assert await c.login(f"ann@{tenant.slug}.test", PASSWORD) == 303
    yield c
    await c.close()
