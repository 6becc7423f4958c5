"""The escalation ladder: 75 % elapsed → warning, 90 % → reassign + team lead, 100 % → breach.

Each rung fires once per SLA target: the rung row (unique per conversation, target, rung) is inserted
in the same transaction as the rung's effects, so a second runner, or the same runner ticking again,
finds it and does nothing. When a tick arrives late and several rungs are due at once, only the highest
acts; the lower ones are recorded as skipped (a warning after a breach is noise).

A tick also rewrites each open conversation's due times (see ``gateway.ops.sla_clock``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from gateway.metrics import record_sla_event
from gateway.ops.internal_slack import post_escalation
from gateway.ops.notify import notify_agents
from gateway.ops.routing import SkillRouter
from gateway.ops.sla_clock import TargetClock, calendar_for, clocks
from store import audit, conversations, routing, sla, teams, tenants, webhooks
from store.models import AuthorKind, Channel, ConversationStatus, Direction
from store.sla import SlaSubject

log = logging.getLogger("switchboard.sla")
S = ConversationStatus
OPEN = ("new", "ai_active", "pending_agent", "assigned")  # waiting_customer is paused: its clocks stand still
WARN_PRIORITY, RISK_PRIORITY, BREACH_PRIORITY = 1, 2, 3
TARGET_NAMES = {"first_response": "first response", "resolution": "resolution"}


@dataclass
class TickReport:
    ran: bool = True
    conversations: int = 0
    fired: list[tuple[int, str, int]] = field(default_factory=list)  # (conversation, target, rung) that acted


class SlaLadder:
    def __init__(self, pool: AsyncConnectionPool, router: SkillRouter, *, base_url: str = "",
                 on_event: Callable[[str, str], None] = record_sla_event) -> None:
        self.pool = pool
        self.router = router
        self.base_url = base_url
        self.on_event = on_event

    async def tick(self, tenant_id: int, *, now: datetime) -> TickReport:
        """One pass over the tenant's conversations; a runner that finds another mid-tick skips."""
        async with self.pool.connection() as lock_conn:
            if not await sla.try_tick_lock(lock_conn, tenant_id):
                return TickReport(ran=False)
            try:
                return await self._tick(tenant_id, now)
            finally:
                await sla.tick_unlock(lock_conn, tenant_id)

    async def _tick(self, tenant_id: int, now: datetime) -> TickReport:
        report = TickReport()
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, tenant_id)
            cal = await calendar_for(conn, tenant_id)
            subjects = await sla.clock_subjects(conn, tenant_id, now=now)
        slug = tenant.slug if tenant else str(tenant_id)
        for listed in subjects:
            async with self.pool.connection() as conn, conn.transaction():
                # The row lock first: one runner at a time per conversation, and routing's lock order.
                await conversations.get(conn, tenant_id, listed.id, lock=True)
                subject = await sla.clock_subject(conn, tenant_id, listed.id)
                assert subject is not None
                policy = await sla.policy_for(conn, tenant_id, subject.urgency, subject.tier)
                found = (await sla.pauses(conn, tenant_id, [subject.id])).get(subject.id, [])
                first, resolution = clocks(subject, policy, cal, found, now)
                await sla.set_dues(conn, tenant_id, subject.id, first_response_due=first.due,
                                   resolution_due=resolution.due)
                report.conversations += 1
                if subject.status not in OPEN:
                    continue
                for clock in (first, resolution):
                    if clock.done_at is None:
                        rung = await self._climb(conn, tenant_id, subject, clock, now)
                        if rung is not None:
                            report.fired.append((subject.id, clock.target, rung))
                            self.on_event(slug, "breach" if rung == 100 else "warning")
        return report

    async def _climb(self, conn: AsyncConnection[Any], tenant_id: int, subject: SlaSubject, clock: TargetClock,
                     now: datetime) -> int | None:
        reached = [r for r in sla.RUNGS if clock.ratio * 100 >= r]
        if not reached:
            return None
        top = reached[-1]
        acted = None
        for rung in reached:
            first_time = await sla.record_rung(conn, tenant_id, subject.id, target=clock.target, rung=rung,
                                               due_at=clock.due, elapsed_ratio=clock.ratio, now=now,
                                               skipped=rung != top, details={"urgency": subject.urgency,
                                                                             "tier": subject.tier})
            if first_time and rung == top:
                await RUNG_ACTIONS[rung](self, conn, tenant_id, subject, clock, now)
                acted = rung
        return acted

    async def _warn(self, conn: AsyncConnection[Any], tenant_id: int, s: SlaSubject, clock: TargetClock,
                    now: datetime) -> None:
        await sla.bump_queue(conn, tenant_id, s.id, WARN_PRIORITY)
        if s.assignee_id is not None:
            await self._tell(conn, tenant_id, [s.assignee_id], s, clock, 75, now,
                             f"SLA warning: #{s.id} {TARGET_NAMES[clock.target]} is 75 % through",
                             f"Due {clock.due:%Y-%m-%d %H:%M} UTC ({s.urgency}, {s.tier}).")

    async def _at_risk(self, conn: AsyncConnection[Any], tenant_id: int, s: SlaSubject, clock: TargetClock,
                       now: datetime) -> None:
        await sla.bump_queue(conn, tenant_id, s.id, RISK_PRIORITY)
        # The team lead of the assignee's team (or of the team covering its skills), found before any
        # reassignment: the lead should hear about the agent who did not respond. No teams: every lead.
        leads = await teams.leads_for_conversation(conn, tenant_id, s.id) or \
            await routing.agents_with_role(conn, tenant_id, ("lead",)) or \
            await routing.agents_with_role(conn, tenant_id, ("admin",))
        moved = ""
        if s.status == "assigned" and s.assignee_id is not None and not await _responded(conn, tenant_id, s):
            await conversations.transition(conn, tenant_id, s.id, S.PENDING_AGENT, actor="ops:sla",
                                           reason=f"SLA 90 %: agent {s.assignee_id} has not responded")
            new = await self.router.route(conn, tenant_id, s.id, actor="ops:sla", exclude=(s.assignee_id,))
            moved = f" Reassigned from agent {s.assignee_id} to {f'agent {new}' if new else 'the escalated queue'}."
            if new is not None:
                await self._tell(conn, tenant_id, [new], s, clock, 90, now,
                                 f"#{s.id} was reassigned to you: SLA 90 % elapsed", f"Due {clock.due:%Y-%m-%d %H:%M} UTC.")
        await self._tell(conn, tenant_id, leads, s, clock, 90, now,
                         f"SLA at risk: #{s.id} {TARGET_NAMES[clock.target]} is 90 % through",
                         f"Due {clock.due:%Y-%m-%d %H:%M} UTC ({s.urgency}, {s.tier}).{moved}")
        await post_escalation(conn, tenant_id, s.id, base_url=self.base_url, dedupe=f"sla:{s.id}:{clock.target}:90",
                              headline=f"SLA at risk: {TARGET_NAMES[clock.target]} due {clock.due:%H:%M} UTC.{moved}")

    async def _breach(self, conn: AsyncConnection[Any], tenant_id: int, s: SlaSubject, clock: TargetClock,
                      now: datetime) -> None:
        await sla.bump_queue(conn, tenant_id, s.id, BREACH_PRIORITY, escalate_at=now)
        what = TARGET_NAMES[clock.target]
        text = (f"SLA breached: {what} was due {clock.due:%Y-%m-%d %H:%M} UTC ({s.urgency} urgency, {s.tier} tier)."
                " Escalated to managers.")
        await audit.record(conn, tenant_id, actor="ops:sla", action="sla.breached", subject_type="conversation",
                           subject_id=s.id, details={"target": clock.target, "due": clock.due.isoformat(),
                                                     "urgency": s.urgency, "tier": s.tier})
        await webhooks.emit(conn, tenant_id, "sla.breached", {"conversation_id": s.id, "target": clock.target,
                                                              "due": clock.due.isoformat(), "urgency": s.urgency,
                                                              "tier": s.tier})
        await conversations.append_message(conn, tenant_id, s.id, direction=Direction.INTERNAL,
                                           author_kind=AuthorKind.SYSTEM, channel=_channel(s), text=text,
                                           raw={"ops": "sla_breach", "target": clock.target})
        # Managers: the conversation's team leads and the tenant's admins.
        managers = [*await teams.leads_for_conversation(conn, tenant_id, s.id),
                    *await routing.agents_with_role(conn, tenant_id, ("admin",))]
        await self._tell(conn, tenant_id, managers, s, clock, 100, now, f"SLA breached: #{s.id} {what}", text)
        await post_escalation(conn, tenant_id, s.id, base_url=self.base_url, dedupe=f"sla:{s.id}:{clock.target}:100",
                              headline=text)

    async def _tell(self, conn: AsyncConnection[Any], tenant_id: int, agent_ids: list[int], s: SlaSubject,
                    clock: TargetClock, rung: int, now: datetime, title: str, body: str) -> None:
        kind = {75: "sla_warning", 90: "sla_at_risk", 100: "sla_breach"}[rung]
        await notify_agents(conn, tenant_id, agent_ids, kind=kind, title=title, body=body,
                            dedupe_key=f"sla:{s.id}:{clock.target}:{rung}", now=now, conversation_id=s.id,
                            base_url=self.base_url)


RUNG_ACTIONS = {75: SlaLadder._warn, 90: SlaLadder._at_risk, 100: SlaLadder._breach}


def _channel(s: SlaSubject) -> Channel:
    return Channel(s.last_channel)


async def _responded(conn: AsyncConnection[Any], tenant_id: int, s: SlaSubject) -> bool:
    """Has the assignee written to the customer since the customer last wrote?"""
    cur = await conn.execute(
        "SELECT 1 FROM messages m JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
        " WHERE m.tenant_id = %s AND m.conversation_id = %s AND m.direction = 'out' AND m.author_kind = 'agent'"
        " AND m.author_id = %s AND m.created_at >= coalesce(c.last_inbound_at, c.created_at) LIMIT 1",
        (tenant_id, s.id, s.assignee_id))
    return await cur.fetchone() is not None
