"""The learning loop's console pages in headless Chromium: classifier versions with rollback, and the digest.

The gateway fixture runs its own workers, so "Make one now" goes through the job queue to the real
digest job and the page shows the charts it rendered (each ``img`` must actually load).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect
from psycopg_pool import AsyncConnectionPool

from store import classifiers
from store.tenants import Tenant
from tests.browser.conftest import Watched
from tests.browser.test_console import WAIT, login
from tests.copilot.console_client import make_agent
from tests.ops import seed
from tests.servers.gateway import RunningGateway


@pytest.fixture
async def desktop(browser: Browser) -> AsyncIterator[Watched]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT)
    page = await context.new_page()
    w = Watched(page, context)
    page.on("console", lambda msg: w.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: w.errors.append(f"pageerror: {exc}"))
    yield w
    await context.close()


async def _signed_in(w: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, role: str) -> None:
    email = f"{role}@{tenant.slug}.test"
    await make_agent(pool, tenant, email, role=role)
    await login(w, gateway.url, email)
    await expect(w.page).to_have_url(re.compile(r"/console$"))


async def _store_versions(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    """v1 from admin examples, v2 promoted by the gate, v3 refused (heads are opaque bytes to this page)."""
    async with pool.connection() as conn, conn.transaction():
        await classifiers.save_model(conn, tenant.id, embedder="e", labels=["a", "b"], model=b"v1", examples_hash="h",
                                     metrics={"cv_accuracy": 0.7, "examples": 12})
        await classifiers.save_model(conn, tenant.id, embedder="e", labels=["a", "b"], model=b"v2", examples_hash="h",
                                     source="retrain", metrics={"holdout_accuracy": 0.85, "current_accuracy": 0.7,
                                                                "compared_with": 1, "holdout": 20, "examples": 60,
                                                                "decision": "promoted", "reason": "better"})
        await classifiers.save_model(conn, tenant.id, embedder="e", labels=["a", "b"], model=b"v3", examples_hash="h",
                                     source="retrain", active=False,
                                     metrics={"holdout_accuracy": 0.6, "current_accuracy": 0.85, "compared_with": 2,
                                              "holdout": 20, "examples": 70, "decision": "refused", "reason": "worse"})


async def test_models_page_lists_versions_and_rolls_back(
    desktop: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = desktop.page
    await _store_versions(pool, tenant)
    await _signed_in(desktop, gateway, pool, tenant, "admin")
    await page.get_by_role("link", name="Models").click()
    await expect(page).to_have_url(re.compile(r"/console/models$"))
    rows = page.locator("#versions tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.nth(0)).to_contain_text("v3")
    await expect(rows.nth(0)).to_contain_text("never served")
    await expect(rows.nth(0)).to_contain_text("60.0% on 20 labels")
    await expect(rows.nth(0)).to_contain_text("refused: worse")
    await expect(rows.nth(1)).to_contain_text("serving")
    await expect(rows.nth(1)).to_contain_text("85.0% on 20 labels")
    await expect(rows.nth(1)).to_contain_text("v1: 70.0%")
    await expect(rows.nth(2)).to_contain_text("70.0% (cross-validated on examples)")

    await page.get_by_role("button", name="Roll back to the previous version").click()
    await expect(page.locator("#flash")).to_have_text("Rolled back: v1 serves now.")
    await expect(page.locator('#versions tr[data-version="1"]')).to_contain_text("serving")
    await expect(page.locator('#versions tr[data-version="2"]')).to_contain_text("served before")
    async with pool.connection() as conn:
        serving = await classifiers.latest_model(conn, tenant.id)
    assert serving is not None and serving.version == 1
    # Nothing older than v1 ever served: the API refuses with a reason the page shows.
    await page.get_by_role("button", name="Roll back to the previous version").click()
    await expect(page.locator("#flash")).to_contain_text("is the first version that served")
    await desktop.screenshot("models-page")
    desktop.assert_clean()


async def test_digest_page_shows_charts_made_on_demand_by_the_worker(
    desktop: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = desktop.page
    now = datetime.now(UTC)
    for category in ("billing", "billing", "technical"):
        await seed.conversation(pool, tenant.id, created_at=now - timedelta(hours=2), category=category)
    await _signed_in(desktop, gateway, pool, tenant, "lead")
    await page.goto(f"{gateway.url}/console/digest")
    await expect(page.locator("#flash")).to_contain_text("No digest yet")
    await page.get_by_role("button", name="Make one now").click()
    await expect(page.locator("#flash")).to_have_text("Digest ready.", timeout=60_000)
    await expect(page.locator("#headline")).to_contain_text("3 (last week 0, new)")
    images = page.locator("#charts img")
    await expect(images).to_have_count(4)
    for i in range(4):
        img = images.nth(i)
        await expect(img).to_have_js_property("complete", True)
        assert await img.evaluate("el => el.naturalWidth") == 600
        assert await img.evaluate("el => el.naturalHeight") == 260
    await expect(page.locator("#emerging")).to_have_text("None this week.")  # 2 billing: below the bar of 3
    await expect(page.locator("#gaps")).to_contain_text("No handoffs this week.")
    await desktop.screenshot("digest-page")
    desktop.assert_clean()
