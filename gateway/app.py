"""The aiohttp application factory: the one composition root that wires rooms together."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from gateway import health
from gateway.appkeys import POOL, SERVICES, SETTINGS
from gateway.http_errors import errors_middleware
from gateway.settings import Settings


def create_app(settings: Settings, pool: AsyncConnectionPool) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[POOL] = pool
    app[SERVICES] = {}
    health.setup(app)
    return app
