"""The aiohttp application factory: the one composition root that wires rooms together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from channels.chat import ChatChannel
from gateway import background, health
from gateway.appkeys import POOL, SERVICES, SETTINGS
from gateway.customer_actions import CustomerActionHandler
from gateway.http_errors import errors_middleware
from gateway.ingest import ingest
from gateway.routing import SkillRouter
from gateway.settings import Settings
from store.models import Channel, InboundMessage, IngestResult

SOCKET_MAX_MESSAGE_BYTES = 64 * 1024


def socket_server(settings: Settings) -> socketio.AsyncServer:
    manager = socketio.AsyncRedisManager(settings.redis_url) if settings.redis_url else None
    # The widget is embedded on customers' own sites, so /chat accepts any origin; the console
    # namespace checks the origin itself because it authenticates with a cookie.
    return socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, cors_allowed_origins="*",
                                max_http_buffer_size=SOCKET_MAX_MESSAGE_BYTES, logger=False, engineio_logger=False)


def create_app(settings: Settings, pool: AsyncConnectionPool, *, dsn: str | None = None,
               base_url: str | None = None) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[POOL] = pool
    base = base_url or settings.effective_public_url()
    sio = socket_server(settings)
    sio.attach(app)
    router = SkillRouter()

    async def ingest_port(msg: InboundMessage) -> IngestResult:
        return await ingest(pool, msg)

    async def no_email_yet(tenant_id: int, customer_id: int, email: str) -> bool:
        return False

    chat = ChatChannel(sio, pool, ingest=ingest_port, actions=CustomerActionHandler(pool, router, base),
                       verify_email=no_email_yet, secret=settings.resolved_secret_key())
    app.add_routes(chat.routes())
    senders = {Channel.CHAT: chat.sender}
    app[SERVICES] = {"sio": sio, "chat": chat, "senders": senders, "router": router}
    health.setup(app)

    if settings.run_workers and dsn:
        async def workers(app: web.Application) -> AsyncIterator[None]:
            from gateway.agent_jobs import job_handlers

            handlers = await job_handlers(settings, pool, dsn, router, base)
            async with background.running(pool, dsn, senders=senders, handlers=handlers):
                yield

        app.cleanup_ctx.append(workers)
    return app


def services(app: web.Application) -> dict[str, Any]:
    return app[SERVICES]
