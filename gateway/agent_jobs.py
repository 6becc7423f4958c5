"""Job handlers: what a worker does for each job kind."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agent_graph.retrain import RETRAIN, RetrainConfig, retrain
from agent_graph.runner import AgentRunner
from gateway.ingest import AGENT_RUN
from gateway.ops.digest import DigestJobs
from gateway.ops.retrain_schedule import RetrainSchedule
from gateway.ops.ticks import OpsTicker
from store import conversations
from store.jobs import Job
from store.models import ConversationStatus
from store.past_conversations import REMEMBER_RESOLVED

log = logging.getLogger("switchboard.agent_jobs")


def job_handlers(runner: AgentRunner, ops: OpsTicker | None = None) -> dict[str, Callable[[Job], Awaitable[None]]]:
    if ops is not None:
        ops.incidents.embed = runner.deps.vector  # one model call per message for detection and classify
    async def agent_run(job: Job) -> None:
        if ops is not None:
            await detect_incident(ops, job)
        outcome = await runner.run(job.tenant_id, int(job.payload["conversation_id"]), int(job.payload["message_id"]))
        log.info("agent run: %s (%s)", outcome.decision, outcome.reason,
                 extra={"tenant_id": job.tenant_id, "conversation_id": job.payload["conversation_id"]})

    async def remember_resolved(job: Job) -> None:
        """Indexes a conversation an agent or the customer resolved, unless it was reopened meanwhile."""
        cid = int(job.payload["conversation_id"])
        async with runner.pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, job.tenant_id, cid, lock=True)
            if conv.status in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
                await runner.remember_resolved(job.tenant_id, cid, conn=conn)

    async def retrain_classifier(job: Job) -> None:
        """Retrains the tenant's classifier from agent feedback; the gate decides whether it serves."""
        result = await retrain(runner.pool, job.tenant_id, RetrainConfig(margin=float(job.payload.get("margin", 0.0))))
        log.info("retrain: %s", result.reason, extra={"tenant_id": job.tenant_id})

    async def detect_incident(ops: OpsTicker, job: Job) -> None:
        """Groups the message into an incident (and sends the known-issue notice); never blocks the run."""
        try:
            await ops.incidents.on_message(job.tenant_id, int(job.payload["conversation_id"]),
                                           int(job.payload["message_id"]))
        except Exception:
            log.exception("incident detection failed", extra={"tenant_id": job.tenant_id})

    # ops: the per-tenant sla_tick (escalation ladder, inactivity close, CSAT surveys).
    return {AGENT_RUN: agent_run, REMEMBER_RESOLVED: remember_resolved, RETRAIN: retrain_classifier,
            **RetrainSchedule(runner.pool).handlers(), **DigestJobs(runner.pool).handlers(),
            **(ops.handlers() if ops else {})}
