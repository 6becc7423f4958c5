"""Liveness and readiness: /healthz says the process runs, /readyz that it can do its job."""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.appkeys import POOL
from store import db


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    try:
        version = await asyncio.wait_for(db.current_version(pool), timeout=3)
    except Exception as exc:
        return web.json_response({"status": "degraded", "database": f"unreachable: {type(exc).__name__}"}, status=503)
    latest = db.latest_version()
    if version < latest:
        return web.json_response({"status": "degraded", "database": f"schema {version} < {latest}"}, status=503)
    return web.json_response({"status": "ready", "database": "ok", "schema": version})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
