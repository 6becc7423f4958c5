"""The aiohttp application factory: the one composition root that wires rooms together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.backends import from_settings as backend_from_settings
from agent_graph.embedder import add_model_observer
from agent_graph.runner import AgentRunner
from channels.chat import ChatChannel
from channels.email import EmailSender, ImapPollers
from channels.slack import SlackChannel
from copilot.admin_api import AdminApi
from copilot.api import ConsoleApi
from copilot.auth import Auth
from copilot.console import ConsolePages
from copilot.kb_api import KbApi
from copilot.sessions import SessionCodec
from copilot.socket import CopilotNamespace, relay_conversation_changes
from gateway import background, health, metrics, metrics_endpoint
from gateway.agent_jobs import job_handlers
from gateway.api import mount as mount_rest_api
from gateway.appkeys import POOL, SERVICES, SETTINGS
from gateway.customer_actions import CustomerActionHandler
from gateway.email_verification import EmailVerifier
from gateway.http_errors import errors_middleware
from gateway.ingest import ingest
from gateway.ops.http import OpsHttp
from gateway.ops.ticks import OpsTicker, ensure_ticks
from gateway.replies import AIReplySink, send_reply
from gateway.routing import SkillRouter
from gateway.settings import Settings
from gateway.web_channels import mount as mount_web_channels
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
    router = SkillRouter(base)

    async def ingest_port(msg: InboundMessage) -> IngestResult:
        return await ingest(pool, msg)

    email_verifier = EmailVerifier(pool, base)
    app.add_routes(email_verifier.routes())  # /verify-email/{token}

    chat = ChatChannel(sio, pool, ingest=ingest_port, actions=CustomerActionHandler(pool, router, base),
                       verify_email=email_verifier, secret=settings.resolved_secret_key())
    app.add_routes(chat.routes())
    mount_web_channels(app, pool, ingest=ingest_port, secret=settings.resolved_secret_key(), base_url=base)
    senders = {Channel.CHAT: chat.sender, Channel.EMAIL: EmailSender(pool)}
    runner = AgentRunner(pool, reply_sink=AIReplySink(base), router=router, checkpointer_dsn=dsn,
                         backend=backend_from_settings(settings.llm_base_url, settings.llm_api_key,
                                                       settings.llm_model, settings.llm_timeout_seconds))
    console_auth = Auth(pool, SessionCodec(settings.resolved_secret_key()), secure_cookies=base.startswith("https"))
    app.add_routes(console_auth.routes())
    app.add_routes(ConsolePages(console_auth).routes())
    app.add_routes(ConsoleApi(pool, console_auth, send_reply, router, base).routes())
    app.add_routes(AdminApi(pool, console_auth, router).routes())  # agents, settings, SLA (admins)
    app.add_routes(KbApi(pool, console_auth).routes())  # /console/api/admin/kb (admins)
    app.add_routes(OpsHttp(pool, console_auth, router, base).routes())  # reports, notifications, /csat
    mount_rest_api(app, pool, ingest=ingest_port, graph=runner.deps)  # /api/v1, /api/openapi.json, /api/docs
    sio.register_namespace(CopilotNamespace(pool, console_auth, runner, allowed_origins=(base,)))
    app[SERVICES] = {"sio": sio, "chat": chat, "senders": senders, "router": router, "runner": runner}
    slack = SlackChannel(pool, ingest=ingest_port, actions=CustomerActionHandler(pool, router, base))
    slack.attach(app)  # /slack/events, /slack/interactivity, and the post-ack sweeper
    senders[Channel.SLACK] = slack.sender
    app[SERVICES]["slack"] = slack
    health.setup(app)
    metrics_endpoint.setup(app, chat)

    async def brain(app: web.Application) -> AsyncIterator[None]:
        await runner.start()
        relay = asyncio.create_task(relay_conversation_changes(sio, dsn)) if dsn else None
        try:
            yield
        finally:
            if relay:
                relay.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay
            await runner.close()

    add_model_observer(metrics.record_model_call)
    app.cleanup_ctx.append(brain)
    if settings.run_workers and dsn:
        async def workers(app: web.Application) -> AsyncIterator[None]:
            await ensure_ticks(pool)  # one self-rescheduling sla_tick per tenant
            async with background.running(pool, dsn, senders=senders,
                                          handlers=job_handlers(runner, OpsTicker(pool, router, base)),
                                          outbox_lease_seconds=settings.outbox_lease_seconds), \
                    ImapPollers(pool, ingest_port).running():  # one IMAP poller per mailbox, by lease
                yield

        app.cleanup_ctx.append(workers)
    return app


def services(app: web.Application) -> dict[str, Any]:
    return app[SERVICES]
