"""Scheduled retraining through the job queue: the weekly link waits for enough new labels, queues an
ordinary retrain, and the promotion gate decides (promoted on good corrections, refused on bad ones).

Same fixed data as tests/agent_graph/test_learning.py (six BANKING77 card intents, the real offline
model); "a week passes" is the pending link's ``run_after`` moved to now, nothing else is faked.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agent_graph import retrain as rt
from gateway.agent_jobs import job_handlers
from gateway.jobs_runner import JobRunner
from gateway.ops.retrain_schedule import RETRAIN_SCHEDULE, ensure_retrain_schedule
from store import classifiers, tenants, triage
from store.tenants import Tenant
from tests.agent_graph.test_learning import INTENTS, _seeded_tenant_with_corrections


async def _rows(pool: AsyncConnectionPool, query: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, args)
        return list(await cur.fetchall())


async def _a_week_passes(pool: AsyncConnectionPool, tenant_id: int) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute("UPDATE jobs SET run_after = now() WHERE tenant_id = %s AND kind = %s"
                                 " AND status = 'pending'", (tenant_id, RETRAIN_SCHEDULE))
        assert cur.rowcount == 1  # exactly one link of the chain is pending


async def _drain(worker: JobRunner) -> None:
    while await worker.run_once():
        pass


async def _versions(pool: AsyncConnectionPool, tenant_id: int) -> list[tuple[int, bool, str | None]]:
    async with pool.connection() as conn:
        return [(v.version, v.active, v.metrics.get("decision")) for v in await classifiers.versions(conn, tenant_id)]


async def test_schedule_waits_for_new_labels_then_the_gate_promotes_and_later_refuses(
    pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant,
) -> None:
    await _seeded_tenant_with_corrections(pool, tenant)  # v1 serves; 72 agent corrections wait
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"retrain_schedule": {"every_days": 7, "min_new_labels": 100}})
        await tenants.update_settings(conn, other_tenant.id, {"retrain_schedule": {"every_days": 0}})
    await ensure_retrain_schedule(pool)
    await ensure_retrain_schedule(pool)  # a second worker starting: still one link per tenant
    links = await _rows(pool, "SELECT tenant_id, run_after - now() AS wait FROM jobs WHERE kind = %s ORDER BY tenant_id",
                        RETRAIN_SCHEDULE)
    assert [r["tenant_id"] for r in links] == sorted([tenant.id, other_tenant.id])
    waits = {r["tenant_id"]: r["wait"] for r in links}
    assert waits[tenant.id] > timedelta(days=6, hours=23)  # never retrained: a full period first
    assert timedelta(hours=23) < waits[other_tenant.id] <= timedelta(days=1)  # off: re-checks the setting daily

    # Only the kinds under test (the ingests' agent_run jobs need a started graph).
    handlers = job_handlers(SimpleNamespace(pool=pool))  # type: ignore[arg-type]
    worker = JobRunner(pool, {k: handlers[k] for k in (RETRAIN_SCHEDULE, rt.RETRAIN)})

    # Week 1: 72 new labels < 100 → nothing is trained, the next link is a week out.
    await _a_week_passes(pool, tenant.id)
    await _drain(worker)
    assert await _rows(pool, "SELECT 1 FROM jobs WHERE tenant_id = %s AND kind = %s", tenant.id, rt.RETRAIN) == []
    assert await _versions(pool, tenant.id) == [(1, True, None)]
    [nxt] = await _rows(pool, "SELECT run_after - now() AS wait FROM jobs WHERE tenant_id = %s AND kind = %s"
                        " AND status = 'pending'", tenant.id, RETRAIN_SCHEDULE)
    assert nxt["wait"] > timedelta(days=6, hours=23)

    # Week 2, threshold 20: the link queues a retrain job and the gate promotes the better candidate.
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"retrain_schedule": {"every_days": 7, "min_new_labels": 20}})
    await _a_week_passes(pool, tenant.id)
    await _drain(worker)
    assert [r["status"] for r in await _rows(pool, "SELECT status FROM jobs WHERE tenant_id = %s AND kind = %s",
                                             tenant.id, rt.RETRAIN)] == ["done"]
    assert await _versions(pool, tenant.id) == [(2, True, "promoted"), (1, False, None)]

    # Week 3: no labels since that retrain → skipped, even though the threshold is low.
    await _a_week_passes(pool, tenant.id)
    await _drain(worker)
    assert len(await _rows(pool, "SELECT 1 FROM jobs WHERE tenant_id = %s AND kind = %s", tenant.id, rt.RETRAIN)) == 1

    # Week 4: someone re-files every trainable correction under the wrong intent. Enough new labels,
    # so a candidate is trained, but it loses on the held-back labels (unchanged) and is refused.
    wrong = {i: INTENTS[(n + 1) % len(INTENTS)] for n, i in enumerate(INTENTS)}
    corrected = await _rows(
        pool, "SELECT DISTINCT ON (mc.id) mc.message_id, msg.text, o.new_value FROM classification_overrides o"
        " JOIN message_classifications mc ON mc.tenant_id = o.tenant_id AND mc.id = o.classification_id"
        " JOIN messages msg ON msg.tenant_id = mc.tenant_id AND msg.id = mc.message_id"
        " WHERE o.tenant_id = %s ORDER BY mc.id, o.id DESC", tenant.id)
    config = rt.RetrainConfig()
    refiled = 0
    async with pool.connection() as conn:
        for row in corrected:
            if not rt.in_holdout(row["text"], seed=config.seed, fraction=config.holdout_fraction):
                await triage.override(conn, tenant.id, row["message_id"], field="category",
                                      new_value=wrong[row["new_value"]], agent_id=None)
                refiled += 1
    assert refiled >= 20
    await _a_week_passes(pool, tenant.id)
    await _drain(worker)
    assert await _versions(pool, tenant.id) == [(3, False, "refused"), (2, True, "promoted"), (1, False, None)]

    # The other tenant's schedule is off: its link only re-checks daily and never queued a retrain.
    assert await _rows(pool, "SELECT 1 FROM jobs WHERE tenant_id = %s AND kind = %s", other_tenant.id, rt.RETRAIN) == []
