"""Running the HTTP server with a graceful stop: stop accepting, drain requests, close the pool."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from gateway.app import create_app
from gateway.database import database
from gateway.settings import Settings

log = logging.getLogger("switchboard.serve")
SHUTDOWN_DRAIN_SECONDS = 10.0


async def serve(settings: Settings, *, before_start: Callable[[AsyncConnectionPool], Awaitable[None]] | None = None,
                banner: Callable[[str], None] | None = None) -> None:
    async with database(settings) as (dsn, pool):
        if before_start is not None:
            await before_start(pool)
        app = create_app(settings, pool, dsn=dsn)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_DRAIN_SECONDS, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else settings.port
        url = settings.effective_public_url(port)
        print(json.dumps({"event": "listening", "url": url, "port": port}), flush=True)
        if banner is not None:
            banner(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping: draining requests")
        await runner.cleanup()
    print(json.dumps({"event": "stopped"}), file=sys.stderr, flush=True)
