"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Python Playwright; no browser downloads.

One browser per test module (it is the slow part to start); each test gets its own context, so
localStorage and cookies never leak between tests.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, async_playwright

from tests.servers.procs import REPO

CHROMIUM = Path(os.environ.get("SWITCHBOARD_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: `./run test` installs Debian's chromium (apt-get install chromium)",
                allow_module_level=True)


@dataclass
class Watched:
    """A page plus what it did behind our back: dialogs (alert() = script injection) and JS errors."""

    page: Page
    context: BrowserContext
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # uncaught exceptions
    console_errors: list[str] = field(default_factory=list)  # includes CSP refusals and failed sockets

    def assert_clean(self) -> None:
        assert not self.dialogs, f"a dialog fired (injected script ran): {self.dialogs}"
        assert not self.errors, f"uncaught page errors: {self.errors}"
        refused = [e for e in self.console_errors if "Content Security Policy" in e or "Refused" in e]
        assert not refused, f"CSP refused something the page needs: {refused}"

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        await b.close()


@pytest.fixture
async def watched(browser: Browser) -> AsyncIterator[Watched]:
    context = await browser.new_context(viewport={"width": 480, "height": 720}, locale="en-US")
    context.set_default_timeout(15_000)
    page = await context.new_page()
    w = Watched(page, context)

    async def on_dialog(dialog: Dialog) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            w.console_errors.append(msg.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: w.errors.append(f"pageerror: {exc}"))
    yield w
    await context.close()
