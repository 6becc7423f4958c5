"""A real gateway (HTTP + Socket.IO + workers) on a loopback port, in the test's event loop."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from gateway.app import create_app
from gateway.settings import Settings, load_settings
from tests.servers.procs import free_port

TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


@dataclass
class RunningGateway:
    url: str
    app: web.Application
    settings: Settings


@asynccontextmanager
async def running_gateway(pool: AsyncConnectionPool, dsn: str, data_dir: Path, **overrides: object
                          ) -> AsyncIterator[RunningGateway]:
    port = free_port()
    settings = load_settings(host="127.0.0.1", port=port, data_dir=data_dir, secret_key=TEST_SECRET,
                             database_url=dsn, **overrides)
    app = create_app(settings, pool, dsn=dsn)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield RunningGateway(f"http://127.0.0.1:{port}", app, settings)
    finally:
        try:
            async with asyncio.timeout(30):
                await runner.cleanup()
        except TimeoutError:
            dump_tasks()
            raise


def dump_tasks() -> None:
    """Prints every pending task's stack, so a hang is diagnosed instead of waited out."""
    for task in asyncio.all_tasks():
        print(f"--- task {task.get_name()} ---", file=sys.stderr)
        task.print_stack(file=sys.stderr)
