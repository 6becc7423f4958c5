"""Job handlers: what a worker does for each job kind."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from agent_graph.runner import AgentRunner
from gateway.ingest import AGENT_RUN
from gateway.ops.ticks import OpsTicker
from store.jobs import Job

log = logging.getLogger("switchboard.agent_jobs")


def job_handlers(runner: AgentRunner, ops: OpsTicker | None = None) -> dict[str, Callable[[Job], Awaitable[None]]]:
    async def agent_run(job: Job) -> None:
        outcome = await runner.run(job.tenant_id, int(job.payload["conversation_id"]), int(job.payload["message_id"]))
        log.info("agent run: %s (%s)", outcome.decision, outcome.reason,
                 extra={"tenant_id": job.tenant_id, "conversation_id": job.payload["conversation_id"]})

    # ops: the per-tenant sla_tick (escalation ladder, inactivity close, CSAT surveys).
    return {AGENT_RUN: agent_run, **(ops.handlers() if ops else {})}
