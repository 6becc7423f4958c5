"""The incidents and KB-gaps page in real headless Chromium: answer an incident, draft a gap article."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import expect
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from gateway.ops.incidents import IncidentDetector
from store import kb
from store.tenants import Tenant
from tests import factories as f
from tests.browser.conftest import Watched
from tests.browser.test_console import login
from tests.copilot.console_client import make_agent
from tests.copilot.test_gaps import EXPORTS, REFUNDS, seed_gap
from tests.ops.test_incidents import REPORTS, rows
from tests.servers.gateway import RunningGateway, running_gateway


@pytest.fixture
async def quiet_gateway(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    """No workers: the test runs incident detection itself and no agent run answers meanwhile."""
    async with running_gateway(pool, dsn, tmp_path, run_workers=False) as gw:
        yield gw


async def test_admin_answers_an_incident_and_drafts_a_gap_article(
        quiet_gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, watched: Watched) -> None:
    detector = IncidentDetector(pool, quiet_gateway.url)
    reports = [await ingest(pool, f.email(tenant.id, f"r{i}@customer.test", REPORTS[i])) for i in range(3)]
    for r in reports:  # the default min_reports is 3: the third forms it
        await detector.on_message(tenant.id, r.conversation_id, r.message_id)
    for i, (q, a) in enumerate(EXPORTS):
        await seed_gap(pool, tenant, 10 + i, q, a)
    for i, (q, a) in enumerate(REFUNDS[:2]):
        await seed_gap(pool, tenant, 20 + i, q, a)

    console_page = watched
    await console_page.page.set_viewport_size({"width": 1440, "height": 900})
    console_page.context.set_default_timeout(30_000)
    await make_agent(pool, tenant, f"boss@{tenant.slug}.test", role="admin")
    await login(console_page, quiet_gateway.url, f"boss@{tenant.slug}.test")
    page = console_page.page
    await expect(page).to_have_url(re.compile(r"/console$|/console#"))

    # The conversation view says how many customers report the same thing and links to the page.
    await page.goto(f"{quiet_gateway.url}/console#/c/{reports[0].conversation_id}")
    badge = page.locator("#conv-incident")
    await expect(badge).to_have_text("3 customers report this")
    await badge.click()
    await expect(page).to_have_url(re.compile(r"/console/insights#incident-\d+$"))
    await expect(page.locator("body[data-ready='1']")).to_have_count(1)

    incident = page.locator(".insight[data-status='open']")
    await expect(incident).to_have_count(1)
    await expect(incident.locator(".insight-meta")).to_contain_text("3 customers report this")
    await incident.get_by_label(re.compile("One answer for everyone")).fill("Fixed: please retry your payment.")
    await incident.get_by_role("button", name="Answer all").click()
    await expect(page.locator("#flash")).to_have_text("Answer sent to 3 conversations.")
    sent = await rows(pool, "SELECT conversation_id FROM outbox WHERE tenant_id = %s AND channel = 'email'"
                            " AND payload->>'author_kind' = 'agent' AND conversation_id = ANY(%s)",
                      tenant.id, [r.conversation_id for r in reports])
    assert sorted(r["conversation_id"] for r in sent) == sorted(r.conversation_id for r in reports)

    topic = page.locator(".insight[data-topic]").filter(has_text=EXPORTS[0][0])
    await expect(topic).to_have_count(1)
    await expect(topic).to_contain_text("3 conversations · 3 this week, 0 last week")
    await expect(topic).to_contain_text("Settings > Data > Export")
    await topic.get_by_role("button", name="Create KB draft").click()
    await expect(page.locator("#flash")).to_contain_text("is not used for answers until published")
    async with pool.connection() as conn:
        drafts = [a for a in await kb.list_articles(conn, tenant.id) if a.key.startswith("drafts/")]
    assert [(a.status, "Settings > Data > Export" in a.body) for a in drafts] == [("draft", True)]
    await topic.get_by_role("button", name="Publish").click()
    await expect(topic.locator(".draft-state")).to_contain_text("published")
    await console_page.screenshot("insights")
    console_page.assert_clean()
