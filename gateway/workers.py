"""``switchboard worker``: background work without HTTP — agent runs, outbox dispatch, SLA ticks,
IMAP pollers and the Slack event sweeper. Run as many copies as needed; leases and SKIP LOCKED
keep them from doing the same work twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from psycopg_pool import AsyncConnectionPool

from agent_graph.backends import from_settings as backend_from_settings
from agent_graph.runner import AgentRunner
from channels.chat import ChatSender
from channels.email import EmailSender, ImapPollers
from channels.slack import SlackChannel
from channels.slack_internal import InternalSlackSender, SlackDeliveries
from gateway import background
from gateway.agent_jobs import job_handlers
from gateway.api.webhook_sender import WebhookSender
from gateway.customer_actions import CustomerActionHandler
from gateway.ingest import ingest
from gateway.ops.digest import ensure_digest_schedule
from gateway.ops.retrain_schedule import ensure_retrain_schedule
from gateway.ops.ticks import OpsTicker, ensure_ticks
from gateway.replies import AIReplySink
from gateway.routing import SkillRouter
from gateway.settings import Settings
from gateway.socket_fanout import CheckedRedisManager
from store.models import Channel, InboundMessage, IngestResult
from store.outbox import Sender

log = logging.getLogger("switchboard.worker")


async def run_workers_forever(settings: Settings, pool: AsyncConnectionPool, dsn: str) -> None:
    base = settings.effective_public_url()
    router = SkillRouter(base)

    async def ingest_port(msg: InboundMessage) -> IngestResult:
        return await ingest(pool, msg, settings.attachment_limits())

    slack = SlackChannel(pool, ingest=ingest_port, actions=CustomerActionHandler(pool, router, base))
    senders: dict[Channel, Sender] = {
        Channel.EMAIL: EmailSender(pool), Channel.SLACK: SlackDeliveries(slack.sender, InternalSlackSender(pool)),
        Channel.WEBHOOK: WebhookSender(pool, disable_after=settings.webhook_disable_after_failures,
                                       timeout_seconds=settings.webhook_timeout_seconds)}
    if settings.redis_url:
        # Chat pushes reach sockets held by `serve` processes through Redis; without Redis, only
        # `serve` (which holds the sockets) dispatches chat, so this worker leaves chat rows alone.
        senders[Channel.CHAT] = ChatSender(CheckedRedisManager(settings.redis_url, write_only=True), pool)
    runner = AgentRunner(pool, reply_sink=AIReplySink(base), router=router, checkpointer_dsn=dsn,
                         backend=backend_from_settings(settings.llm_base_url, settings.llm_api_key,
                                                       settings.llm_model, settings.llm_timeout_seconds))
    await runner.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sweeper = asyncio.create_task(slack.sweep_forever(), name="slack-sweeper")
    try:
        await ensure_ticks(pool)
        await ensure_retrain_schedule(pool)
        await ensure_digest_schedule(pool)
        async with background.running(pool, dsn, senders=senders,
                                      handlers=job_handlers(runner, OpsTicker(pool, router, base)),
                                      outbox_lease_seconds=settings.outbox_lease_seconds,
                                      job_lease_seconds=settings.job_lease_seconds,
                                      concurrency=settings.worker_concurrency), \
                ImapPollers(pool, ingest_port, lease_seconds=settings.imap_lease_seconds).running():
            print('{"event": "worker started"}', flush=True)
            await stop.wait()
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await runner.close()
