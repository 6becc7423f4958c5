"""One conversation's SLA clocks: how much of each target has elapsed and when it is due.

Elapsed time is open business time (or all time, when the policy is 24/7) since the conversation was
created, minus the intervals spent waiting on the customer, up to now or to when the target was met.

The stored due time is "frozen" while the conversation waits on the customer: it is the deadline as
if the current pause had not happened, and readers that compare it with the clock (``store.kpis``,
the console queue) add the open pause (``now - sla_paused_at``) themselves. Closed pauses are already
inside it. The tick rewrites it, so a changed urgency (or tier) moves it on the next tick, or at once
through :func:`recompute`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from gateway.ops.business_time import (
    ALWAYS,
    Calendar,
    add_business_seconds,
    business_seconds,
    calendar_from_settings,
)
from gateway.ops.settings import ops_setting
from store import sla, tenants
from store.sla import Policy, SlaSubject

DONE_STATUSES = ("resolved", "closed")


@dataclass(frozen=True, slots=True)
class TargetClock:
    target: str  # first_response | resolution
    seconds: float
    elapsed: float
    due: datetime
    done_at: datetime | None

    @property
    def ratio(self) -> float:
        return self.elapsed / self.seconds if self.seconds > 0 else 1.0


def clocks(subject: SlaSubject, policy: Policy, calendar: Calendar,
           pauses: Sequence[tuple[datetime, datetime | None]], now: datetime) -> tuple[TargetClock, TargetClock]:
    """Pure: both targets' clocks at ``now``."""
    cal = calendar if policy.business_hours else ALWAYS
    closed = [(s, e) for s, e in pauses if e is not None]
    open_start = next((s for s, e in pauses if e is None), None)
    if open_start is None and subject.status == "waiting_customer" and subject.sla_paused_at is not None:
        open_start = subject.sla_paused_at  # paused before pauses were recorded
    resolved = subject.resolved_at if subject.status in DONE_STATUSES else None
    out = []
    for target, minutes, done_at in (("first_response", policy.first_response_minutes, subject.first_response_at),
                                     ("resolution", policy.resolution_minutes, resolved)):
        end = min(now, done_at) if done_at else now
        cut = list(closed) + ([(open_start, end)] if open_start is not None and open_start < end else [])
        seconds = minutes * 60.0
        elapsed = business_seconds(cal, subject.created_at, end, cut)
        due = add_business_seconds(cal, subject.created_at, seconds, closed)
        out.append(TargetClock(target, seconds, elapsed, due, done_at))
    return out[0], out[1]


async def calendar_for(conn: AsyncConnection[Any], tenant_id: int) -> Calendar:
    return calendar_from_settings(ops_setting(await tenants.get(conn, tenant_id), "business_hours"))


async def recompute(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, now: datetime,
                    calendar: Calendar | None = None) -> tuple[TargetClock, TargetClock] | None:
    """Recomputes and stores one conversation's due times (call after urgency or tier changes)."""
    subject = await sla.clock_subject(conn, tenant_id, conversation_id)
    if subject is None:
        return None
    policy = await sla.policy_for(conn, tenant_id, subject.urgency, subject.tier)
    cal = calendar or await calendar_for(conn, tenant_id)
    found = (await sla.pauses(conn, tenant_id, [conversation_id])).get(conversation_id, [])
    first, resolution = clocks(subject, policy, cal, found, now)
    await sla.set_dues(conn, tenant_id, conversation_id, first_response_due=first.due, resolution_due=resolution.due)
    return first, resolution
