"""The agent performance page in headless Chromium: a lead sees each agent against the team on their own mix."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import expect
from psycopg_pool import AsyncConnectionPool

from store.tenants import Tenant
from tests.browser.conftest import Watched
from tests.browser.test_learning_pages import _signed_in, desktop  # noqa: F401  (the desktop fixture)
from tests.ops.test_agent_performance import seed_dataset
from tests.servers.gateway import RunningGateway


async def test_lead_sees_agents_against_their_own_mix(
    desktop: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant  # noqa: F811
) -> None:
    page = desktop.page
    ids = await seed_dataset(pool, tenant.id, datetime.now(UTC) - timedelta(days=1))
    async with pool.connection() as conn:  # names are data: shown as text, never run
        await conn.execute("UPDATE agents SET name = %s WHERE tenant_id = %s AND id = %s",
                           ("<img src=x onerror=alert(1)>ann", tenant.id, ids["ann"]))
    await _signed_in(desktop, gateway, pool, tenant, "lead")
    await page.get_by_role("link", name="Agents").click()
    await expect(page).to_have_url(re.compile(r"/console/agents-performance$"))
    ann = page.get_by_role("region", name="<img src=x onerror=alert(1)>ann")
    await expect(ann).to_contain_text("Queue mix: billing/high × 2, technical/low × 1")
    frt = ann.locator('tr[data-metric="first_response_seconds"] td')
    await expect(frt).to_have_text(["12 min 40 s", "12 min 0 s", "+40 s (worse than expected)", "9 min 10 s", "3"])
    bob = page.get_by_role("region", name="bob")
    await expect(bob.locator('tr[data-metric="first_response_seconds"] td').nth(2)).to_have_text(
        "−40 s (better than expected)")
    await expect(bob.locator('tr[data-metric="reopen_rate"] td')).to_have_text(
        ["50%", "25%", "+25 pts (worse than expected)", "25%", "2"])
    await page.get_by_label("Window").select_option("7")
    await expect(page.locator("section.agent-perf")).to_have_count(2)
    await desktop.screenshot("agents-performance-page")
    desktop.assert_clean()
