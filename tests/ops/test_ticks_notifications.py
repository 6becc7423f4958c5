"""The self-rescheduling sla_tick job, and agent notifications by console list and email outbox."""

from __future__ import annotations

from datetime import timedelta

from psycopg_pool import AsyncConnectionPool

from gateway.jobs_runner import JobRunner
from gateway.ops.notify import notify_agents
from gateway.ops.routing import SkillRouter
from gateway.ops.ticks import SLA_TICK, OpsTicker, ensure_ticks
from store import mailboxes, notifications
from store.tenants import Tenant
from tests.ops import seed
from tests.ops.seed import T0


async def test_one_pending_tick_per_tenant_and_it_reschedules_itself(pool: AsyncConnectionPool, tenant: Tenant,
                                                                     other_tenant: Tenant) -> None:
    await ensure_ticks(pool)
    await ensure_ticks(pool)  # a second worker starting: still one pending tick per tenant
    pending = await seed.rows(pool, "SELECT tenant_id FROM jobs WHERE kind = %s AND status = 'pending'"
                              " ORDER BY tenant_id", SLA_TICK)
    assert [r["tenant_id"] for r in pending] == sorted([tenant.id, other_tenant.id])

    ticker = OpsTicker(pool, SkillRouter(clock=lambda: T0), "http://x.test")
    runner = JobRunner(pool, ticker.handlers())
    assert await runner.run_once() and await runner.run_once()
    assert not await runner.run_once()  # the next ticks are not due yet
    jobs = await seed.rows(pool, "SELECT tenant_id, status, run_after - created_at AS delay FROM jobs"
                           " WHERE kind = %s ORDER BY id", SLA_TICK)
    assert [j["status"] for j in jobs] == ["done", "done", "pending", "pending"]
    assert all(j["delay"] >= timedelta(seconds=29) for j in jobs[2:])


async def test_notifications_are_listed_once_and_mailed_through_the_outbox(pool: AsyncConnectionPool,
                                                                           tenant: Tenant) -> None:
    ann = await seed.agent(pool, tenant.id, "ann")
    cid = await seed.conversation(pool, tenant.id)
    async with pool.connection() as conn:
        made = await notify_agents(conn, tenant.id, [ann], kind="sla_warning", title="SLA warning", body="soon",
                                   dedupe_key="k1", now=T0, conversation_id=cid)
        assert len(made) == 1
        assert await seed.rows(pool, "SELECT 1 FROM outbox WHERE channel = 'email'") == []  # no mailbox: list only
        await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=993, imap_username="u",
                               imap_password_env="NOPE", from_address="support@acme.test", smtp_host="127.0.0.1",
                               smtp_port=25)
        again = await notify_agents(conn, tenant.id, [ann, ann], kind="sla_warning", title="SLA warning", body="soon",
                                    dedupe_key="k1", now=T0, conversation_id=cid)
        assert again == []  # same key: told once
        await notify_agents(conn, tenant.id, [ann], kind="sla_breach", title="SLA breached", body="late",
                            dedupe_key="k2", now=T0 + timedelta(minutes=1), conversation_id=cid,
                            base_url="http://x.test")
        listed = await notifications.list_for(conn, tenant.id, ann)
        assert [n.kind for n in listed] == ["sla_breach", "sla_warning"]
        assert await notifications.mark_read(conn, tenant.id, ann, [listed[1].id], now=T0) == 1
        assert [n.kind for n in await notifications.list_for(conn, tenant.id, ann, unread_only=True)] == ["sla_breach"]
    [mail] = await seed.rows(pool, "SELECT payload FROM outbox WHERE channel = 'email'")
    payload = mail["payload"]
    assert payload["to"].startswith("ann-") and payload["kind"] == "notice" and payload["author_kind"] == "system"
    assert "SLA breached" in str(payload["body"]) and "http://x.test/console" in str(payload["body"])
