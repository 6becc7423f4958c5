"""The weekly digest for managers: figures, charts, a stored copy for the console and an email to leads and admins.

It runs as a job: ``digest_schedule`` re-queues itself every ``digest_every_days`` (the sla_tick
pattern, so exactly one chain per tenant across workers), and ``digest`` is the on-demand kind the
console's admin API queues. Both compute the 7 days up to the moment they run; trends cover the
:data:`TREND_WEEKS` windows before that.

Its KB gaps are the console's gap topics (:func:`agent_graph.gap_topics.gap_topics`: questions the
KB could not answer, clustered by embedding), computed by the same code at the digest's end, so a
manager reads the same topics, volumes and trends an admin drafts articles from; a second, coarser
grouping (by category, say) would split one need filed under two categories and disagree with the
console.

The email goes to agents, never customers: an explicit ``to`` per lead/admin, the same path
:mod:`gateway.ops.notify` uses, with the charts as inline ``cid:`` image parts of the HTML.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from agent_graph.gap_topics import Topic, gap_topics
from formatters import digest as digest_format
from gateway.ops import digest_charts
from gateway.ops.settings import ops_setting
from store import agents, digests, jobs, mailboxes, notifications, outbox, tenants
from store.digests import DIGEST
from store.jobs import Job
from store.models import Channel, ReplyKind

log = logging.getLogger("switchboard.ops.digest")
DIGEST_SCHEDULE = "digest_schedule"  # the weekly chain; always emails
TREND_WEEKS = 6
EMERGING_MIN = 3  # conversations this week before a category can be "emerging"
EMERGING_GROWTH = 1.5  # ... and this many times last week's count (or new this week)
MANAGER_ROLES = ("lead", "admin")
TOP_GAPS = 5
GAP_EXAMPLES = 3


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _week(row: dict[str, Any], end: datetime) -> dict[str, Any]:
    decided = row["accepted"] + row["edited"] + row["discarded"]
    return {
        "end": end.isoformat(), "conversations": row["conversations"], "handed_off": row["handed_off"],
        "auto_resolved": row["auto_resolved"], "auto_resolution": _rate(row["auto_resolved"], row["conversations"]),
        "csat_answers": row["csat_answers"],
        "csat_average": None if not row["csat_answers"] else round(row["csat_sum"] / row["csat_answers"], 2),
        "accepted": row["accepted"], "edited": row["edited"], "discarded": row["discarded"],
        "adoption": _rate(row["accepted"] + row["edited"], decided), "decided": decided,
    }


def _gap(topic: Topic) -> dict[str, Any]:
    """The part of a console gap topic a digest keeps: enough to recognise it on the insights page."""
    return {"key": topic.key, "title": topic.title, "examples": topic.examples[:GAP_EXAMPLES],
            "volume": len(topic.conversation_ids), "this_week": topic.this_week, "last_week": topic.last_week,
            "trend": topic.trend, "conversation_ids": topic.conversation_ids[:50]}


async def compute(pool: AsyncConnectionPool, tenant_id: int, until: datetime) -> dict[str, Any]:
    """The digest's figures for the 7 days before ``until`` (JSON-ready: it is stored as is)."""
    async with pool.connection() as conn:
        rows = await digests.weekly(conn, tenant_id, until, TREND_WEEKS)
        by_category = await digests.categories(conn, tenant_id, until)
    gaps = [_gap(t) for t in (await gap_topics(pool, tenant_id, now=until))[:TOP_GAPS]]
    weeks = [_week(r, until - timedelta(days=7 * (TREND_WEEKS - 1 - i))) for i, r in enumerate(rows)]
    this, last = weeks[-1], weeks[-2]
    categories = sorted(({"category": c, "this_week": n, "last_week": m, "change": _rate(n - m, m)}
                         for c, (n, m) in by_category.items()), key=lambda r: (-r["this_week"], r["category"]))
    emerging = [r for r in categories if r["this_week"] >= EMERGING_MIN
                and r["this_week"] >= EMERGING_GROWTH * r["last_week"] and r["this_week"] > r["last_week"]]
    emerging.sort(key=lambda r: (-(r["this_week"] - r["last_week"]), r["category"]))
    return {
        "period": {"start": (until - timedelta(days=7)).isoformat(), "end": until.isoformat()},
        "volume": {"this_week": this["conversations"], "last_week": last["conversations"],
                   "change": _rate(this["conversations"] - last["conversations"], last["conversations"])},
        "auto_resolution": {"this_week": this["auto_resolution"], "last_week": last["auto_resolution"]},
        "csat": {"this_week": this["csat_average"], "last_week": last["csat_average"], "answers": this["csat_answers"]},
        "adoption": {"this_week": this["adoption"], "last_week": last["adoption"], "decided": this["decided"],
                     "accepted": this["accepted"], "edited": this["edited"], "discarded": this["discarded"]},
        "categories": categories[:12], "emerging": emerging[:5], "kb_gaps": gaps, "weeks": weeks,
    }


def cid(digest_id: int, name: str) -> str:
    return f"digest-{digest_id}-{name}@switchboard"


async def generate(pool: AsyncConnectionPool, tenant_id: int, *, until: datetime, trigger: str,
                   email: bool) -> int:
    """Computes, renders and stores one digest; with ``email``, queues it to every lead and admin."""
    figures = await compute(pool, tenant_id, until)
    charts = await asyncio.to_thread(digest_charts.render_all, figures)
    async with pool.connection() as conn, conn.transaction():
        digest_id = await digests.save(conn, tenant_id, period_start=until - timedelta(days=7), period_end=until,
                                       trigger=trigger, figures=figures, charts=charts)
        if email:
            await _send(conn, tenant_id, digest_id, figures, charts, now=until)
    log.info("digest %s generated (%s)", digest_id, trigger, extra={"tenant_id": tenant_id})
    return digest_id


async def _send(conn: Any, tenant_id: int, digest_id: int, figures: dict[str, Any], charts: dict[str, bytes], *,
                now: datetime) -> None:
    """A console notification per lead/admin, and an email when the tenant has a mailbox to send from."""
    tenant = await tenants.get(conn, tenant_id)
    body = digest_format.render(figures, {n: f"cid:{cid(digest_id, n)}" for n in charts},
                                tenant_name=tenant.name if tenant else "")
    body["inline_images"] = [{"cid": cid(digest_id, n), "content_type": "image/png", "filename": f"{n}.png",
                              "data": base64.b64encode(png).decode("ascii")} for n, png in charts.items()]
    can_email = await mailboxes.default_for(conn, tenant_id) is not None
    headline = "; ".join(f"{label}: {value}" for label, value in digest_format.headline(figures))
    for agent in await agents.list_all(conn, tenant_id):
        if agent.role not in MANAGER_ROLES:
            continue
        note = await notifications.create(conn, tenant_id, agent.id, kind="digest", title=body["subject"],
                                          body=headline, dedupe_key=f"digest:{digest_id}", now=now)
        if note is None or not can_email:
            continue
        payload = {"kind": ReplyKind.NOTICE.value, "author_kind": "system", "to": agent.email,
                   "notification_id": note.id, "digest_id": digest_id, "body": body}
        await outbox.enqueue(conn, tenant_id, channel=Channel.EMAIL, payload=payload,
                             idempotency_key=f"digest:{digest_id}:{agent.id}")


async def next_delay(pool: AsyncConnectionPool, tenant_id: int, now: datetime) -> float:
    """Seconds until the tenant's next scheduled digest: a week (setting) after the last one's end."""
    async with pool.connection() as conn:
        days = float(ops_setting(await tenants.get(conn, tenant_id), "digest_every_days"))
        last = await digests.last_scheduled_end(conn, tenant_id)
    every = timedelta(days=days if days > 0 else 1)  # off: look again daily, so switching it on takes effect
    return max(1.0, ((last or now) + every - now).total_seconds())


async def ensure_digest_schedule(pool: AsyncConnectionPool, *, now: datetime | None = None) -> None:
    """One pending ``digest_schedule`` per tenant (idempotent, like ``ensure_ticks``)."""
    now = now or datetime.now(UTC)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM tenants ORDER BY id")
        ids = [int(r["id"]) for r in await cur.fetchall()]
    for tenant_id in ids:
        delay = await next_delay(pool, tenant_id, now)
        async with pool.connection() as conn:
            await jobs.enqueue(conn, tenant_id, DIGEST_SCHEDULE, dedupe_key=DIGEST_SCHEDULE, delay_seconds=delay)


class DigestJobs:
    def __init__(self, pool: AsyncConnectionPool, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.pool = pool
        self.clock = clock

    async def scheduled(self, job: Job) -> None:
        """Queues the next link of the chain first (a failing digest must not end it), then works."""
        now = self.clock()
        async with self.pool.connection() as conn:
            days = float(ops_setting(await tenants.get(conn, job.tenant_id), "digest_every_days"))
            await jobs.enqueue(conn, job.tenant_id, DIGEST_SCHEDULE, dedupe_key=DIGEST_SCHEDULE,
                               delay_seconds=timedelta(days=days if days > 0 else 1).total_seconds())
        if days > 0:
            await generate(self.pool, job.tenant_id, until=now, trigger="schedule", email=True)

    async def on_demand(self, job: Job) -> None:
        await generate(self.pool, job.tenant_id, until=self.clock(), trigger="on_demand",
                       email=bool(job.payload.get("email")))

    def handlers(self) -> dict[str, Callable[[Job], Awaitable[None]]]:
        return {DIGEST_SCHEDULE: self.scheduled, DIGEST: self.on_demand}
