"""The weekly digest: hand-checked figures on seeded data, the job chain, and the email with its charts
as inline images, delivered by the real email sender to the aiosmtpd recorder.

Seeded week (``UNTIL`` - 7 days .. ``UNTIL``), every figure below counted by hand:

  this week: billing ×4 (2 auto-resolved, 1 handed off, 1 new), bug_report ×3 (1 handed off, 2 new),
             account ×1 (auto-resolved)                       → 8 conversations, 3 auto-resolved (38%)
  last week: billing ×3 (1 auto-resolved), account ×2 (1 resolved, but an agent wrote: not auto)
                                                              → 5 conversations, 1 auto-resolved (20%)
  three weeks ago: 1 conversation; six weeks ago to the second: 1 (the oldest trend window); exactly at UNTIL: 1 (outside: windows are half-open); other tenant: 1
  CSAT this week 5, 4, 3 (avg 4.00); last week 2 (avg 2.00)
  suggestions this week: 2 accepted, 1 edited, 1 discarded (75% adopted); last week 1 accepted, 1 discarded (50%)
  handoffs (KB gaps): this week two "charged twice" questions worded differently, one filed under billing
             and one under bug_report, and two "app crashes at sign-in" questions under bug_report; last
             week one more "charged twice" (billing). By category that would read billing 1, bug_report 3;
             clustered by meaning it is two topics: charged twice (3 in two weeks: 2 this week, 1 the
             week before) and crashes (2, both this week). The other tenant asks "charged twice" too.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from psycopg_pool import AsyncConnectionPool

from agent_graph.gap_topics import gap_topics
from channels.email_smtp import EmailSender
from gateway.dispatcher import Dispatcher
from gateway.jobs_runner import JobRunner
from gateway.ops.digest import DIGEST_SCHEDULE, DigestJobs, compute, ensure_digest_schedule, generate
from store import digests, mailboxes, triage
from store.models import Channel
from store.tenants import Tenant
from tests.ops import seed
from tests.servers.smtp import SmtpServer

UNTIL = datetime(2024, 6, 17, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


async def _conversation(pool: AsyncConnectionPool, tenant_id: int, at: datetime, category: str, *,
                        status: str = "new", handed_off_asking: str | None = None, agent_wrote: bool = False) -> int:
    cid = await seed.conversation(pool, tenant_id, created_at=at, status=status, category=category)
    async with pool.connection() as conn:
        if handed_off_asking:
            await conn.execute("INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, channel,"
                               " text, created_at) VALUES (%s, %s, 1, 'in', 'customer', 'chat', %s, %s)",
                               (tenant_id, cid, handed_off_asking, at))
            await conn.execute("INSERT INTO status_changes (tenant_id, conversation_id, from_status, to_status, actor,"
                               " created_at) VALUES (%s, %s, 'ai_active', 'pending_agent', 'ai', %s)", (tenant_id, cid, at))
            # What the agent graph writes when it hands over: what makes the question a KB gap.
            await triage.record_run(conn, tenant_id, cid, None, decision="handoff", acted=True, reason="low confidence",
                                    confidence=0.1, reply_message_id=None, backend="offline")
        if agent_wrote:
            await conn.execute("INSERT INTO messages (tenant_id, conversation_id, seq, direction, author_kind, channel,"
                               " text, created_at) VALUES (%s, %s, 2, 'out', 'agent', 'chat', 'Done.', %s)",
                               (tenant_id, cid, at))
    return cid


async def _csat(pool: AsyncConnectionPool, tenant_id: int, cid: int, score: int, at: datetime) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO csat_responses (tenant_id, conversation_id, score, channel, actor, created_at)"
                           " VALUES (%s, %s, %s, 'chat', 'customer', %s)", (tenant_id, cid, score, at))


async def _suggestion(pool: AsyncConnectionPool, tenant_id: int, cid: int, outcome: str, at: datetime) -> None:
    async with pool.connection() as conn:
        await conn.execute("INSERT INTO suggestions (tenant_id, conversation_id, text, outcome, created_at)"
                           " VALUES (%s, %s, 'draft', %s, %s)", (tenant_id, cid, outcome, at))


async def seed_weeks(pool: AsyncConnectionPool, tenant: Tenant, other: Tenant) -> None:
    t = UNTIL - 3 * DAY  # inside this week
    b1 = await _conversation(pool, tenant.id, t, "billing", status="resolved")
    b2 = await _conversation(pool, tenant.id, t, "billing", status="closed")
    await _conversation(pool, tenant.id, t, "billing", status="assigned", handed_off_asking="Why was I charged twice?")
    b4 = await _conversation(pool, tenant.id, t, "billing")
    await _conversation(pool, tenant.id, t, "bug_report", status="pending_agent",
                        handed_off_asking="The app crashes on login")
    await _conversation(pool, tenant.id, t, "bug_report",
                        handed_off_asking="Every time I try to sign in, the application closes itself")
    await _conversation(pool, tenant.id, t, "bug_report",
                        handed_off_asking="I was billed two times for one order, please refund the duplicate")
    await _conversation(pool, tenant.id, t, "account", status="resolved")
    for cid, score in ((b1, 5), (b2, 4), (b4, 3)):
        await _csat(pool, tenant.id, cid, score, t)
    for outcome in ("accepted", "accepted", "edited", "discarded"):
        await _suggestion(pool, tenant.id, b4, outcome, t)

    w = UNTIL - 10 * DAY  # last week
    l1 = await _conversation(pool, tenant.id, w, "billing", status="resolved")
    await _conversation(pool, tenant.id, w, "billing", handed_off_asking="You took the payment twice from my card")
    await _conversation(pool, tenant.id, w, "billing")
    await _conversation(pool, tenant.id, w, "account", status="resolved", agent_wrote=True)
    await _conversation(pool, tenant.id, w, "account")
    await _csat(pool, tenant.id, l1, 2, w)
    for outcome in ("accepted", "discarded"):
        await _suggestion(pool, tenant.id, l1, outcome, w)

    await _conversation(pool, tenant.id, UNTIL - 20 * DAY, "account")
    await _conversation(pool, tenant.id, UNTIL - 42 * DAY, "account")  # the oldest trend window's first instant
    await _conversation(pool, tenant.id, UNTIL, "account")  # the window is [start, end): not counted
    await _conversation(pool, other.id, t, "billing", handed_off_asking="Why was I charged twice?")  # another tenant's


async def test_figures_match_the_hand_count(pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant) -> None:
    await seed_weeks(pool, tenant, other_tenant)
    f = await compute(pool, tenant.id, UNTIL)
    assert f["volume"] == {"this_week": 8, "last_week": 5, "change": 0.6}
    assert f["auto_resolution"] == {"this_week": 0.375, "last_week": 0.2}
    assert f["csat"] == {"this_week": 4.0, "last_week": 2.0, "answers": 3}
    assert f["adoption"] == {"this_week": 0.75, "last_week": 0.5, "decided": 4, "accepted": 2, "edited": 1,
                             "discarded": 1}
    assert [(c["category"], c["this_week"], c["last_week"]) for c in f["categories"]] == [
        ("billing", 4, 3), ("bug_report", 3, 0), ("account", 1, 2)]
    assert [(e["category"], e["this_week"], e["last_week"]) for e in f["emerging"]] == [("bug_report", 3, 0)]
    # The console's gap topics, clustered by meaning across categories, with the console's volume and trend.
    charged = {"Why was I charged twice?", "I was billed two times for one order, please refund the duplicate",
               "You took the payment twice from my card"}
    crashes = {"The app crashes on login", "Every time I try to sign in, the application closes itself"}
    gaps = [(set(g["examples"]), g["volume"], g["this_week"], g["last_week"], g["trend"]) for g in f["kb_gaps"]]
    assert gaps == [(charged, 3, 2, 1, "up"), (crashes, 2, 2, 0, "up")]
    console = await gap_topics(pool, tenant.id, now=UNTIL)
    assert [(g["key"], g["title"], sorted(g["conversation_ids"])) for g in f["kb_gaps"]] == [
        (t.key, t.title, sorted(t.conversation_ids)) for t in console]
    assert f["kb_gaps"][0]["title"] in charged and f["kb_gaps"][1]["title"] in crashes
    assert [w["conversations"] for w in f["weeks"]] == [1, 0, 0, 1, 5, 8]
    assert f["weeks"][-1]["end"] == UNTIL.isoformat() and f["period"]["start"] == (UNTIL - 7 * DAY).isoformat()


async def _dispatch_until(pool: AsyncConnectionPool, smtp: SmtpServer, n: int) -> None:
    dispatcher = Dispatcher(pool, {Channel.EMAIL: EmailSender(pool)})
    deadline = time.monotonic() + 30
    while len(smtp.messages) < n:
        assert time.monotonic() < deadline, await seed.rows(pool, "SELECT status, last_error FROM outbox")
        await dispatcher.run_once()


async def test_digest_email_reaches_leads_and_admins_with_inline_chart_images(
    pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant, smtp: SmtpServer
) -> None:
    await seed_weeks(pool, tenant, other_tenant)
    admin = await seed.agent(pool, tenant.id, "ada", role="admin")
    lead = await seed.agent(pool, tenant.id, "lee", role="lead")
    await seed.agent(pool, tenant.id, "abe")  # a plain agent gets no digest
    async with pool.connection() as conn:
        await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=993, imap_username="u",
                               imap_password_env="UNUSED", from_address="support@acme.test", smtp_host="127.0.0.1",
                               smtp_port=smtp.port, smtp_security="none")
    digest_id = await generate(pool, tenant.id, until=UNTIL, trigger="on_demand", email=True)

    async with pool.connection() as conn:
        stored = await digests.get(conn, tenant.id, digest_id)
        assert await digests.get(conn, other_tenant.id, digest_id) is None  # tenant in every query
    assert stored is not None and stored.figures["volume"]["this_week"] == 8
    assert stored.charts == ("categories", "csat", "rates", "volume")
    notes = await seed.rows(pool, "SELECT agent_id, kind FROM agent_notifications WHERE tenant_id = %s ORDER BY agent_id",
                            tenant.id)
    assert notes == [{"agent_id": admin, "kind": "digest"}, {"agent_id": lead, "kind": "digest"}]

    await _dispatch_until(pool, smtp, 2)
    emails = await seed.rows(pool, "SELECT email FROM agents WHERE tenant_id = %s AND role IN ('admin', 'lead')", tenant.id)
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted(r["email"] for r in emails)
    for received in smtp.messages:
        msg = received.message
        assert msg["Subject"] == f"{tenant.name} weekly digest: 2024-06-10 to 2024-06-17"
        assert msg["Auto-Submitted"] == "auto-generated"  # a system mail: autoresponders stay quiet
        text = received.text()
        assert "Conversations: 8 (last week 5, +60%)" in text and "Auto-resolved: 38% (last week 20%)" in text
        assert "CSAT average: 4.00 from 3 answers (last week 2.00)" in text
        assert "Suggestions adopted: 75% of 4 decided (last week 50%)" in text
        assert "- bug_report: 3 (last week 0)" in text
        gap_lines = text.split("Top knowledge-base gaps (", 1)[1].splitlines()
        topic_lines = [line for line in gap_lines[1:] if line.startswith("- ")]
        assert [line.split(": ", 1)[1] for line in topic_lines] == [
            "3 questions in two weeks (2 this week, 1 the week before, rising)",
            "2 questions in two weeks (2 this week, 0 the week before, rising)"]
        html_part = msg.get_body(("html",))
        assert html_part is not None
        html = str(html_part.get_content())
        related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
        assert len(related) == 1, "the HTML and its images travel as one multipart/related"
        images = {str(p["Content-ID"]).strip("<>"): p for p in msg.walk() if p.get_content_type() == "image/png"}
        assert len(images) == 4
        for cid, part in images.items():
            assert f'src="cid:{cid}"' in html  # every image is referenced by the HTML ...
            png: Any = part.get_content()
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            with Image.open(io.BytesIO(png)) as img:
                assert img.size == (600, 260)  # ... and is a real chart of the size the HTML shows
        assert html.count('src="cid:') == 4
        assert "3 questions in two weeks (2 this week, 1 the week before, rising)" in html


async def test_the_weekly_chain_runs_through_the_job_queue(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    await ensure_digest_schedule(pool, now=UNTIL)
    await ensure_digest_schedule(pool, now=UNTIL)  # a second worker: still one pending link
    [link] = await seed.rows(pool, "SELECT id FROM jobs WHERE tenant_id = %s AND kind = %s", tenant.id, DIGEST_SCHEDULE)
    async with pool.connection() as conn:
        await conn.execute("UPDATE jobs SET run_after = now() WHERE id = %s", (link["id"],))  # a week passes
    worker = JobRunner(pool, DigestJobs(pool, clock=lambda: UNTIL).handlers())
    assert await worker.run_once()
    assert not await worker.run_once()  # the next link waits a week
    async with pool.connection() as conn:
        [made] = await digests.recent(conn, tenant.id)
    assert made.trigger == "schedule" and made.period_end == UNTIL and len(made.charts) == 3  # no categories yet
    jobs = await seed.rows(pool, "SELECT status, run_after - created_at AS wait FROM jobs WHERE tenant_id = %s"
                           " AND kind = %s ORDER BY id", tenant.id, DIGEST_SCHEDULE)
    assert [j["status"] for j in jobs] == ["done", "pending"] and jobs[1]["wait"] >= timedelta(days=7)
