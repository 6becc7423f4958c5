"""REST API fixtures: the agent-graph databases (demo KB imported), a gateway without background
workers (so nothing answers conversations behind a test's back), and token helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from store import api_tokens
from tests.agent_graph.conftest import dsn, kb_template, kb_tenant, offline_model, runner  # noqa: F401
from tests.servers.gateway import RunningGateway, running_gateway


@pytest.fixture
async def api(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:  # noqa: F811
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as gw:
        yield gw


PLATFORM_TOKEN = "platform-operator-token-0123456789"


@pytest.fixture
async def platform_api(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:  # noqa: F811
    """A gateway that knows the platform operator's token, so tenant routes can be reached at all."""
    async with running_gateway(pool, dsn, tmp_path, run_workers=False, platform_admin_token=PLATFORM_TOKEN) as gw:
        yield gw


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def make_token(pool: AsyncConnectionPool, tenant_id: int, scopes: str, *, rate: int = 600) -> str:
    async with pool.connection() as conn:
        _, secret = await api_tokens.create(conn, tenant_id, name="test", scopes=api_tokens.parse_scopes(scopes),
                                            created_by="test", rate_limit_per_minute=rate)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def call(http: aiohttp.ClientSession, method: str, url: str, secret: str | None = None,
               **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
    headers = {**(bearer(secret) if secret else {}), **kwargs.pop("headers", {})}
    async with http.request(method, url, headers=headers, **kwargs) as resp:
        body = await resp.json(content_type=None) if resp.content_type == "application/json" else await resp.text()
        return resp.status, dict(resp.headers), body
