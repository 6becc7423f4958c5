"""SLA clocks and the escalation ladder, driven by an injected clock (no sleeping)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from psycopg_pool import AsyncConnectionPool

from gateway.ops.routing import SkillRouter
from gateway.ops.sla_clock import recompute
from gateway.ops.sla_ladder import SlaLadder
from store import conversations, sla, tenants
from store.models import ConversationStatus
from store.tenants import Tenant
from tests.ops import seed
from tests.ops.seed import T0

S = ConversationStatus


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class Events(list[tuple[str, str]]):
    def __call__(self, slug: str, kind: str) -> None:
        self.append((slug, kind))


async def team(pool: AsyncConnectionPool, tenant_id: int) -> dict[str, int]:
    return {"owner": await seed.agent(pool, tenant_id, "owner"),
            "backup": await seed.agent(pool, tenant_id, "backup"),
            "lead": await seed.agent(pool, tenant_id, "lead", role="lead", available=False),
            "admin": await seed.agent(pool, tenant_id, "admin", role="admin", available=False)}


async def notified(pool: AsyncConnectionPool, cid: int) -> list[tuple[int, str]]:
    found = await seed.rows(pool, "SELECT agent_id, kind FROM agent_notifications WHERE conversation_id = %s"
                            " ORDER BY id", cid)
    return [(r["agent_id"], r["kind"]) for r in found]


async def test_every_rung_fires_once_and_only_once(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    people = await team(pool, tenant.id)
    cid = await seed.conversation(pool, tenant.id, status="assigned", urgency="high", assignee_id=people["owner"])
    events = Events()
    ladder = SlaLadder(pool, SkillRouter(clock=lambda: minutes(0)), on_event=events)

    assert (await ladder.tick(tenant.id, now=minutes(44))).fired == []  # 73 % of 60 min
    assert (await ladder.tick(tenant.id, now=minutes(46))).fired == [(cid, "first_response", 75)]
    assert await notified(pool, cid) == [(people["owner"], "sla_warning")]
    [conv] = await seed.rows(pool, "SELECT * FROM conversations WHERE id = %s", cid)
    assert conv["queue_priority"] == 1 and conv["sla_first_response_due"] == minutes(60)
    assert conv["sla_resolution_due"] == minutes(480)

    assert (await ladder.tick(tenant.id, now=minutes(55))).fired == [(cid, "first_response", 90)]
    [conv] = await seed.rows(pool, "SELECT * FROM conversations WHERE id = %s", cid)
    assert conv["status"] == "assigned" and conv["assignee_id"] == people["backup"]  # the owner never answered
    assert (await notified(pool, cid))[1:] == [(people["backup"], "sla_at_risk"), (people["lead"], "sla_at_risk")]

    assert (await ladder.tick(tenant.id, now=minutes(61))).fired == [(cid, "first_response", 100)]
    [conv] = await seed.rows(pool, "SELECT * FROM conversations WHERE id = %s", cid)
    assert conv["escalated_at"] == minutes(61) and conv["queue_priority"] == 3
    assert (await notified(pool, cid))[3:] == [(people["admin"], "sla_breach")]
    notes = await seed.rows(pool, "SELECT text FROM messages WHERE conversation_id = %s AND direction = 'internal'",
                            cid)
    assert [n["text"][:12] for n in notes] == ["SLA breached"]
    assert len(await seed.rows(pool, "SELECT 1 FROM audit_events WHERE action = 'sla.breached'")) == 1

    # Tick again and again, sequentially and from two runners at once: nothing fires twice.
    other = SlaLadder(pool, SkillRouter(), on_event=events)
    for n in range(62, 72):
        reports = await asyncio.gather(ladder.tick(tenant.id, now=minutes(n)), other.tick(tenant.id, now=minutes(n)))
        assert all(r.fired == [] for r in reports)
    rungs = await seed.rows(pool, "SELECT target, rung, skipped FROM sla_rungs WHERE conversation_id = %s"
                            " ORDER BY rung", cid)
    assert [(r["target"], r["rung"], r["skipped"]) for r in rungs] == [
        ("first_response", 75, False), ("first_response", 90, False), ("first_response", 100, False)]
    assert len(await notified(pool, cid)) == 4
    assert Counter(kind for _, kind in events) == {"warning": 2, "breach": 1}


async def test_two_concurrent_runners_fire_each_rung_once(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    people = await team(pool, tenant.id)
    cids = [await seed.conversation(pool, tenant.id, status="assigned", urgency="high", assignee_id=people["owner"])
            for _ in range(5)]
    ladders = [SlaLadder(pool, SkillRouter(), on_event=Events()) for _ in range(2)]
    for now in (minutes(46), minutes(56), minutes(61)):
        await asyncio.gather(*(ladder.tick(tenant.id, now=now) for ladder in ladders))
        await asyncio.gather(*(ladder.tick(tenant.id, now=now) for ladder in ladders))
    rungs = await seed.rows(pool, "SELECT conversation_id, rung, count(*) AS n FROM sla_rungs WHERE tenant_id = %s"
                            " GROUP BY 1, 2", tenant.id)
    assert len(rungs) == 15 and all(r["n"] == 1 for r in rungs)
    breaches = await seed.rows(pool, "SELECT count(*) AS n FROM agent_notifications WHERE kind = 'sla_breach'")
    assert breaches[0]["n"] == 5
    assert all(c in {r["conversation_id"] for r in rungs} for c in cids)


async def test_a_late_tick_fires_only_the_highest_rung(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    people = await team(pool, tenant.id)
    cid = await seed.conversation(pool, tenant.id, status="assigned", urgency="critical", assignee_id=people["owner"])
    ladder = SlaLadder(pool, SkillRouter(), on_event=Events())
    assert (await ladder.tick(tenant.id, now=minutes(45))).fired == [(cid, "first_response", 100)]  # 30 min target
    rungs = await seed.rows(pool, "SELECT rung, skipped FROM sla_rungs WHERE conversation_id = %s ORDER BY rung", cid)
    assert [(r["rung"], r["skipped"]) for r in rungs] == [(75, True), (90, True), (100, False)]
    assert [k for _, k in await notified(pool, cid)] == ["sla_breach"]


async def test_clock_pauses_while_waiting_on_the_customer(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    cid = await seed.conversation(pool, tenant.id, status="assigned", urgency="high")
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO sla_pauses (tenant_id, conversation_id, started_at, ended_at)"
                           " VALUES (%s, %s, %s, %s)", (tenant.id, cid, minutes(10), minutes(40)))
    ladder = SlaLadder(pool, SkillRouter(), on_event=Events())
    assert (await ladder.tick(tenant.id, now=minutes(70))).fired == []  # 40 of 60 minutes ran
    [conv] = await seed.rows(pool, "SELECT sla_first_response_due FROM conversations WHERE id = %s", cid)
    assert conv["sla_first_response_due"] == minutes(90)
    assert (await ladder.tick(tenant.id, now=minutes(76))).fired == [(cid, "first_response", 75)]  # 46 min

    # Waiting again (open pause from minute 80): the clock stands still, the stored due is frozen.
    async with pool.connection() as conn:
        await conn.execute("UPDATE conversations SET status = 'waiting_customer', sla_paused_at = %s WHERE id = %s",
                           (minutes(80), cid))
        await conn.execute("UPDATE sla_pauses SET started_at = %s WHERE conversation_id = %s AND ended_at IS NULL",
                           (minutes(80), cid))
    assert (await ladder.tick(tenant.id, now=minutes(500))).fired == []
    [conv] = await seed.rows(pool, "SELECT sla_first_response_due FROM conversations WHERE id = %s", cid)
    assert conv["sla_first_response_due"] == minutes(90)
    [pause] = await seed.rows(pool, "SELECT ended_at FROM sla_pauses WHERE conversation_id = %s"
                              " AND started_at = %s", cid, minutes(80))
    assert pause["ended_at"] is None


async def test_pauses_are_recorded_by_every_status_change(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    cid = await seed.conversation(pool, tenant.id, status="ai_active", created_at=datetime.now().astimezone())
    async with pool.connection() as conn:
        await conversations.transition(conn, tenant.id, cid, S.WAITING_CUSTOMER, actor="ai")
        await conversations.transition(conn, tenant.id, cid, S.AI_ACTIVE, actor="ingest")
        await conversations.transition(conn, tenant.id, cid, S.WAITING_CUSTOMER, actor="ai")
    pauses = await seed.rows(pool, "SELECT started_at, ended_at FROM sla_pauses WHERE conversation_id = %s"
                             " ORDER BY id", cid)
    assert len(pauses) == 2 and pauses[0]["ended_at"] is not None and pauses[1]["ended_at"] is None


async def test_dues_follow_urgency_tier_and_business_hours(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    cid = await seed.conversation(pool, tenant.id, status="assigned", urgency="high")
    async with pool.connection() as conn:
        first, resolution = await recompute(conn, tenant.id, cid, now=minutes(10)) or (None, None)
        assert first and first.due == minutes(60) and resolution and resolution.due == minutes(480)
        await conn.execute("UPDATE conversations SET urgency = 'urgent' WHERE id = %s", (cid,))  # the word
        first, _ = await recompute(conn, tenant.id, cid, now=minutes(10)) or (None, None)
        assert first and first.due == minutes(30)

    gold = await seed.customer(pool, tenant.id, tier="gold")
    vip = await seed.conversation(pool, tenant.id, status="assigned", urgency="high", customer_id=gold)
    berlin = ZoneInfo("Europe/Berlin")
    friday = datetime(2024, 6, 7, 16, 30, tzinfo=berlin)
    office = await seed.conversation(pool, tenant.id, status="assigned", urgency="low", created_at=friday)
    async with pool.connection() as conn:
        await sla.set_policy(conn, tenant.id, "high", tier="gold", first_response_minutes=15, resolution_minutes=120)
        await sla.set_policy(conn, tenant.id, "low", first_response_minutes=120, resolution_minutes=600,
                             business_hours=True)
        await tenants.update_settings(conn, tenant.id, {"business_hours": {
            "timezone": "Europe/Berlin", "weekly": {d: [["09:00", "12:00"], ["13:00", "17:00"]]
                                                    for d in ("mon", "tue", "wed", "thu", "fri")}}})
        first, _ = await recompute(conn, tenant.id, vip, now=minutes(1)) or (None, None)
        assert first and first.due == minutes(15)
        first, resolution = await recompute(conn, tenant.id, office, now=friday) or (None, None)
    # 30 min on Friday, 90 on Monday (9:00–10:30); resolution: 10 h = 0.5 Fri + 7 Mon + 2.5 Tue (lunch skipped).
    assert first and first.due == datetime(2024, 6, 10, 10, 30, tzinfo=berlin)
    assert resolution and resolution.due == datetime(2024, 6, 11, 11, 30, tzinfo=berlin)
