"""The aiohttp application factory: the one composition root that wires rooms together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import socketio
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.backends import from_settings as backend_from_settings
from agent_graph.embedder import add_model_observer
from agent_graph.runner import AgentRunner
from channels.chat import ChatChannel, ChatLimits
from channels.chat_files import ChatFiles
from channels.email import EmailSender, ImapPollers
from channels.slack import SlackChannel
from channels.slack_internal import InternalSlackEvents, InternalSlackSender, SlackDeliveries
from copilot.admin_api import AdminApi
from copilot.agents_perf_api import AgentPerformanceApi
from copilot.api import ConsoleApi
from copilot.attachments_api import ConsoleAttachments
from copilot.auth import Auth
from copilot.console import ConsolePages
from copilot.customer_attributes_api import CustomerAttributesApi
from copilot.digest_api import DigestApi
from copilot.gaps_api import GapsApi
from copilot.gates_api import GatesApi
from copilot.incidents_api import IncidentsApi
from copilot.kb_api import KbApi
from copilot.models_api import ModelsApi
from copilot.sessions import SessionCodec
from copilot.set_password import SetPasswordPage
from copilot.socket import CopilotNamespace, relay_conversation_changes
from gateway import background, forwarded, health, metrics, metrics_endpoint
from gateway.agent_jobs import job_handlers
from gateway.api import mount as mount_rest_api
from gateway.api.webhook_sender import WebhookSender
from gateway.appkeys import POOL, SERVICES, SETTINGS
from gateway.customer_actions import CustomerActionHandler
from gateway.email_verification import EmailVerifier
from gateway.http_errors import errors_middleware
from gateway.ingest import ingest
from gateway.ops.digest import ensure_digest_schedule
from gateway.ops.http import OpsHttp
from gateway.ops.retrain_schedule import ensure_retrain_schedule
from gateway.ops.teams_http import TeamsHttp
from gateway.ops.ticks import OpsTicker, ensure_ticks
from gateway.replies import AIReplySink, send_reply
from gateway.routing import SkillRouter
from gateway.settings import Settings
from gateway.socket_fanout import CheckedRedisManager
from gateway.web_channels import mount as mount_web_channels
from store.models import Channel, InboundMessage, IngestResult

SOCKET_MAX_MESSAGE_BYTES = 64 * 1024


def socket_server(settings: Settings) -> socketio.AsyncServer:
    manager = CheckedRedisManager(settings.redis_url) if settings.redis_url else None
    # The widget is embedded on customers' own sites, so /chat accepts any origin; the console
    # namespace checks the origin itself because it authenticates with a cookie.
    return socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, cors_allowed_origins="*",
                                max_http_buffer_size=SOCKET_MAX_MESSAGE_BYTES, logger=False, engineio_logger=False)


def create_app(settings: Settings, pool: AsyncConnectionPool, *, dsn: str | None = None,
               base_url: str | None = None) -> web.Application:
    app = web.Application(middlewares=[forwarded.middleware(forwarded.parse_networks(settings.trusted_proxies)),
                                       errors_middleware], client_max_size=settings.max_body_bytes)
    app[SETTINGS] = settings
    app[POOL] = pool
    base = base_url or settings.effective_public_url()
    sio = socket_server(settings)
    sio.attach(app)
    router = SkillRouter(base)

    async def ingest_port(msg: InboundMessage) -> IngestResult:
        return await ingest(pool, msg, settings.attachment_limits())

    email_verifier = EmailVerifier(pool, base)
    app.add_routes(email_verifier.routes())  # /verify-email/{token}

    chat = ChatChannel(sio, pool, ingest=ingest_port, actions=CustomerActionHandler(pool, router, base),
                       verify_email=email_verifier, secret=settings.resolved_secret_key(),
                       limits=replace(ChatLimits.per_second(settings.chat_messages_per_second),
                                      max_files_per_message=settings.attachment_max_per_message))
    app.add_routes(chat.routes())
    app.add_routes(ChatFiles(pool, chat.tokens, settings.attachment_limits()).routes())  # /chat/{tenant}/upload
    mount_web_channels(app, pool, ingest=ingest_port, secret=settings.resolved_secret_key(), base_url=base)
    senders = {Channel.CHAT: chat.sender, Channel.EMAIL: EmailSender(pool),
               Channel.WEBHOOK: WebhookSender(pool, disable_after=settings.webhook_disable_after_failures,
                                              timeout_seconds=settings.webhook_timeout_seconds)}
    runner = AgentRunner(pool, reply_sink=AIReplySink(base), router=router, checkpointer_dsn=dsn,
                         backend=backend_from_settings(settings.llm_base_url, settings.llm_api_key,
                                                       settings.llm_model, settings.llm_timeout_seconds))
    console_auth = Auth(pool, SessionCodec(settings.resolved_secret_key()), secure_cookies=base.startswith("https"))
    app.add_routes(console_auth.routes())
    app.add_routes(SetPasswordPage(pool).routes())  # /console/set-password/{token}: invited agents
    app.add_routes(ConsolePages(console_auth).routes())
    app.add_routes(ConsoleApi(pool, console_auth, send_reply, router, base).routes())
    app.add_routes(ConsoleAttachments(pool, console_auth, settings.attachment_limits()).routes())  # open, upload files
    app.add_routes(AdminApi(pool, console_auth, router).routes())  # agents, settings, SLA (admins)
    app.add_routes(KbApi(pool, console_auth).routes())  # /console/api/admin/kb (admins)
    app.add_routes(ModelsApi(pool, console_auth).routes())  # /console/models: classifier versions (admins)
    app.add_routes(GatesApi(pool, console_auth).routes())  # /console/gates: auto-resolve gates + evidence (admins)
    app.add_routes(DigestApi(pool, console_auth).routes())  # /console/digest: weekly digest (leads, admins)
    app.add_routes(AgentPerformanceApi(pool, console_auth).routes())  # /console/agents-performance (leads, admins)
    app.add_routes(IncidentsApi(pool, console_auth, send_reply, base).routes())  # /console/insights, incidents
    app.add_routes(GapsApi(pool, console_auth).routes())  # /console/api/admin/gaps: KB gap topics, drafts
    app.add_routes(CustomerAttributesApi(pool, console_auth).routes())  # customer panel attributes, CSV import
    app.add_routes(OpsHttp(pool, console_auth, router, base).routes())  # reports, notifications, /csat
    app.add_routes(TeamsHttp(pool, console_auth, router, base).routes())  # teams, escalation paths, internal Slack
    mount_rest_api(app, pool, ingest=ingest_port, graph=runner.deps, base_url=base,
                   platform_token=settings.platform_admin_token)  # /api/v1, /api/openapi.json, /api/docs
    sio.register_namespace(CopilotNamespace(pool, console_auth, runner, allowed_origins=(base,)))
    app[SERVICES] = {"sio": sio, "chat": chat, "senders": senders, "router": router, "runner": runner}
    slack = SlackChannel(pool, ingest=ingest_port, actions=CustomerActionHandler(pool, router, base),
                         limits=settings.attachment_limits())  # Slack files: fetched only within these
    slack.attach(app)  # /slack/events, /slack/interactivity, and the post-ack sweeper
    # One Slack sender: escalation summaries go to the tenant's internal channel, the rest to customers.
    senders[Channel.SLACK] = SlackDeliveries(slack.sender, InternalSlackSender(pool))
    app.add_routes(InternalSlackEvents(pool).routes())  # /slack/internal/events: thread replies → internal notes
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
            await ensure_retrain_schedule(pool)  # weekly retrain + digest chains, one per tenant
            await ensure_digest_schedule(pool)
            async with background.running(pool, dsn, senders=senders,
                                          handlers=job_handlers(runner, OpsTicker(pool, router, base)),
                                          outbox_lease_seconds=settings.outbox_lease_seconds,
                                          job_lease_seconds=settings.job_lease_seconds,
                                          concurrency=settings.worker_concurrency), \
                    ImapPollers(pool, ingest_port,  # one IMAP poller per mailbox, by lease
                                lease_seconds=settings.imap_lease_seconds).running():
                yield

        app.cleanup_ctx.append(workers)
    return app


def services(app: web.Application) -> dict[str, Any]:
    return app[SERVICES]
