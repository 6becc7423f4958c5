"""Scheduled retraining: one self-rescheduling ``retrain_schedule`` job per tenant (the sla_tick pattern).

Each link queues the next one first, then asks whether enough feedback labels arrived since the last
retrain (tenant setting ``retrain_schedule``) and, if so, queues an ordinary ``retrain`` job, the same
one ``switchboard retrain`` and the console queue on demand. The promotion gate inside that job
decides whether the candidate serves, so a schedule can never make the classifier worse.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from agent_graph.retrain import enqueue_retrain, schedule_setting
from store import classifiers, jobs, tenants
from store.jobs import Job

log = logging.getLogger("switchboard.ops.retrain_schedule")
RETRAIN_SCHEDULE = "retrain_schedule"
OFF_RECHECK = timedelta(days=1)  # schedule off: look again daily, so switching it on takes effect


def _every(days: float) -> timedelta:
    return timedelta(days=days) if days > 0 else OFF_RECHECK


class RetrainSchedule:
    def __init__(self, pool: AsyncConnectionPool, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self.clock = clock

    async def run_job(self, job: Job) -> None:
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, job.tenant_id)
            if tenant is None:
                return
            schedule = schedule_setting(tenant.settings)
            await jobs.enqueue(conn, job.tenant_id, RETRAIN_SCHEDULE, dedupe_key=RETRAIN_SCHEDULE,
                               delay_seconds=_every(schedule["every_days"]).total_seconds())
            if schedule["every_days"] <= 0:
                return
            fresh = await classifiers.feedback_labels_since(conn, job.tenant_id,
                                                             await classifiers.last_retrain_at(conn, job.tenant_id))
            if fresh < schedule["min_new_labels"]:
                log.info("scheduled retrain skipped: %d new labels (need %d)", fresh, schedule["min_new_labels"],
                         extra={"tenant_id": job.tenant_id})
                return
            await enqueue_retrain(conn, job.tenant_id)
        log.info("scheduled retrain queued: %d new labels", fresh, extra={"tenant_id": job.tenant_id})

    def handlers(self) -> dict[str, Callable[[Job], Awaitable[None]]]:
        return {RETRAIN_SCHEDULE: self.run_job}


async def ensure_retrain_schedule(pool: AsyncConnectionPool, *, now: datetime | None = None) -> None:
    """One pending link per tenant, due a period after the last retrain (a restart does not retrain early)."""
    now = now or datetime.now(UTC)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, settings FROM tenants ORDER BY id")
        for row in await cur.fetchall():
            every = _every(schedule_setting(row["settings"])["every_days"])
            last = await classifiers.last_retrain_at(conn, int(row["id"]))
            delay = max(1.0, ((last or now) + every - now).total_seconds())
            await jobs.enqueue(conn, int(row["id"]), RETRAIN_SCHEDULE, dedupe_key=RETRAIN_SCHEDULE,
                               delay_seconds=delay)
