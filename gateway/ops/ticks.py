"""The periodic ops job: one self-rescheduling ``sla_tick`` job per tenant.

The job queue keeps at most one *pending* job per dedupe key and never runs two jobs with the same
key at once, so across every worker process there is exactly one tick runner per tenant at a time;
the ladder's advisory lock and unique rung rows back that up. The next tick is queued before this one
works, so a failing tick cannot break the chain; :func:`ensure_ticks` (called when workers start)
re-seeds it if it ever was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from gateway.ops.csat import CsatService
from gateway.ops.inactivity import close_idle
from gateway.ops.incidents import IncidentDetector
from gateway.ops.routing import SkillRouter
from gateway.ops.settings import ops_setting
from gateway.ops.sla_ladder import SlaLadder
from store import jobs, tenants
from store.jobs import Job

log = logging.getLogger("switchboard.ops")
SLA_TICK = "sla_tick"


class OpsTicker:
    def __init__(self, pool: AsyncConnectionPool, router: SkillRouter, base_url: str) -> None:
        self.pool = pool
        self.router = router
        self.ladder = SlaLadder(pool, router, base_url=base_url)
        self.csat = CsatService(pool, base_url, router.clock)
        self.incidents = IncidentDetector(pool, base_url)  # agent_jobs runs it before each agent run

    async def tick(self, tenant_id: int, *, now: datetime) -> None:
        """Ladder (and due times), then inactivity closes, then CSAT surveys for what got resolved."""
        report = await self.ladder.tick(tenant_id, now=now)
        closed = await close_idle(self.pool, tenant_id, now=now)
        surveyed = await self.csat.send_due(tenant_id, now=now)
        if report.fired or closed or surveyed:
            log.info("ops tick: %d rungs, %d closed idle, %d surveyed", len(report.fired), len(closed),
                     len(surveyed), extra={"tenant_id": tenant_id})

    async def run_job(self, job: Job) -> None:
        async with self.pool.connection() as conn:
            seconds = float(ops_setting(await tenants.get(conn, job.tenant_id), "sla_tick_seconds"))
            await jobs.enqueue(conn, job.tenant_id, SLA_TICK, dedupe_key=SLA_TICK, delay_seconds=max(1.0, seconds))
        await self.tick(job.tenant_id, now=self.router.clock())

    def handlers(self) -> dict[str, Callable[[Job], Awaitable[None]]]:
        return {SLA_TICK: self.run_job}


async def ensure_ticks(pool: AsyncConnectionPool) -> None:
    """Queues a tick for every tenant that has none pending (idempotent: the dedupe key)."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM tenants ORDER BY id")
        for row in await cur.fetchall():
            await jobs.enqueue(conn, int(row["id"]), SLA_TICK, dedupe_key=SLA_TICK)
