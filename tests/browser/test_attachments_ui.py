"""Files in real Chromium: the widget's file button, the console's thumbnails, downloads, and an agent's
file reaching the visitor; markup files never render anywhere."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Browser, expect
from psycopg_pool import AsyncConnectionPool

from store.tenants import Tenant
from tests.browser.conftest import Watched
from tests.browser.test_console import console_page, signed_in  # noqa: F401  (fixture)
from tests.browser.test_widget import conversation_of, eventually, open_widget
from tests.channels.test_attachments import HTML, png_bytes
from tests.servers.gateway import RunningGateway

ALERT_HTML = HTML  # <script>alert(document.cookie)</script>: a dialog would mean it ran


async def test_files_from_widget_to_console_and_back(watched: Watched, console_page: Watched,  # noqa: F811
                                                     gateway: RunningGateway, pool: AsyncConnectionPool,
                                                     tenant: Tenant, tmp_path: Path, browser: Browser) -> None:
    shot, fake = tmp_path / "shot.png", tmp_path / "cat.png"
    shot.write_bytes(png_bytes())
    fake.write_bytes(ALERT_HTML)
    page = watched.page
    await open_widget(watched, gateway, tenant)
    await page.set_input_files("#sb-file", [str(shot), str(fake)])
    sent = page.locator(".sb-msg--in[data-id]").filter(has=page.get_by_role("button", name="cat.png"))
    await expect(sent).to_have_count(1)
    await expect(sent.get_by_role("button", name="shot.png")).to_be_visible()
    async with page.expect_download() as info:
        await sent.get_by_role("button", name="cat.png").click()
    download = await info.value
    assert download.suggested_filename == "cat.png"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == ALERT_HTML
    cid = await conversation_of(pool, tenant, int(await sent.get_attribute("data-id") or 0))

    c = console_page
    await signed_in(c, gateway, pool, tenant)
    await c.page.goto(f"{gateway.url}/console#/c/{cid}")
    files = c.page.locator("#timeline .msg-files")
    thumb = files.locator("img.file-thumb")
    await expect(thumb).to_have_count(1)

    async def decoded() -> bool:  # the real PNG, shown inline
        return await thumb.evaluate("img => img.complete && img.naturalWidth") == 1

    await eventually(decoded, what="the thumbnail decoding")
    markup = files.locator("a[download]")
    await expect(markup).to_have_attribute("download", "cat.png")  # the HTML file is a download, no preview

    await c.page.set_input_files("#reply-file", str(shot))
    await expect(c.page.locator("#reply-files li")).to_contain_text("shot.png")
    await c.page.fill("#editor", "Here is a screenshot of the fix.")
    await c.page.click("#send")
    reply = page.locator(".sb-msg--out").filter(has_text="Here is a screenshot of the fix.")
    await expect(reply.get_by_role("button", name="shot.png")).to_be_visible(timeout=30_000)
    await expect(c.page.locator("#reply-files li")).to_have_count(0)
    await watched.screenshot("widget-attachments")
    await c.screenshot("console-attachments")
    watched.assert_clean()
    c.assert_clean()
