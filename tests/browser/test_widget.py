"""The chat widget in real headless Chromium against a running gateway.

Replies are written through the real reply path (``gateway.replies.send_reply`` as an agent), so
they reach the page the way every reply does: formatter → outbox → dispatcher → Socket.IO push.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import expect
from psycopg_pool import AsyncConnectionPool

from gateway.replies import send_reply
from store.models import SOLVED, TALK_TO_HUMAN, AuthorKind, Reply, ReplyKind, Source
from store.tenants import Tenant
from tests.browser.conftest import Watched
from tests.servers.gateway import RunningGateway

expect.set_options(timeout=15_000)
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15, what: str = "condition") -> None:
    """Polls an async check with a deadline (never a bare sleep as synchronization)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {within}s")
        await asyncio.sleep(0.05)


async def open_widget(w: Watched, gateway: RunningGateway, tenant: Tenant) -> None:
    await w.page.goto(f"{gateway.url}/widget/{tenant.slug}")
    await expect(w.page.locator("#sb-status")).to_have_text("Online")


async def visitor_sends(w: Watched, text: str) -> int:
    """Types and sends; returns the stored message id once the server acked it."""
    await w.page.fill("#sb-input", text)
    await w.page.press("#sb-input", "Enter")
    bubble = w.page.locator(".sb-msg--in[data-id]").filter(has=w.page.get_by_text(text, exact=True))
    await expect(bubble).to_have_count(1)
    return int(await bubble.get_attribute("data-id") or 0)


async def conversation_of(pool: AsyncConnectionPool, tenant: Tenant, message_id: int) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT conversation_id FROM messages WHERE tenant_id = %s AND id = %s",
                                 (tenant.id, message_id))
        row = await cur.fetchone()
    assert row is not None
    return int(row["conversation_id"])


async def agent_replies(pool: AsyncConnectionPool, tenant: Tenant, conversation_id: int, text: str,
                        **extra: Any) -> int:
    async with pool.connection() as conn, conn.transaction():
        msg = await send_reply(conn, tenant.id, conversation_id, Reply(ReplyKind.ANSWER, text, **extra),
                               author_kind=AuthorKind.AGENT)
    return msg.id


async def delivered(pool: AsyncConnectionPool, tenant: Tenant, message_ids: list[int]) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM outbox WHERE tenant_id = %s AND message_id = ANY(%s)"
                                 " AND status = 'sent'", (tenant.id, message_ids))
        row = await cur.fetchone()
    return row is not None and row["n"] == len(message_ids)


async def test_visitor_chats_and_sees_an_agent_reply_with_sources_and_actions(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = watched.page
    await open_widget(watched, gateway, tenant)
    await expect(page.get_by_role("heading", name=f"{tenant.name} Support")).to_be_visible()
    await expect(page.get_by_label("Your message")).to_be_visible()

    asked = await visitor_sends(watched, "How do I reset my password?")
    conv = await conversation_of(pool, tenant, asked)
    reply_id = await agent_replies(
        pool, tenant, conv, "Use the **reset link** on the login page, then check your inbox.",
        sources=(Source("kb:1#0", "Password reset guide", "Use the reset link", 0.9, "https://help.example/reset"),
                 Source("kb:2#0", "Two-factor authentication", "2FA", 0.7, "https://help.example/2fa")),
        actions=(TALK_TO_HUMAN, SOLVED))

    reply = page.locator(f'.sb-msg--out[data-id="{reply_id}"]')
    await expect(reply).to_have_count(1)
    await expect(reply.locator(".sb-bubble strong")).to_have_text("reset link")  # sanitized markdown kept
    await expect(reply.locator(".sb-author")).to_have_text("Support team")
    link = reply.get_by_role("link", name="Password reset guide")
    await expect(link).to_have_attribute("href", "https://help.example/reset")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(reply.get_by_role("link", name="Two-factor authentication")).to_be_visible()
    await expect(reply.get_by_role("button", name="Talk to a person")).to_be_visible()
    solved = reply.get_by_role("button", name="This solved it")
    await expect(page.locator("#sb-typing")).to_be_hidden()  # the reply ended the wait
    await watched.screenshot("widget-reply")

    await solved.click()
    await expect(solved).to_have_attribute("aria-pressed", "true")

    async def resolved() -> bool:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT status FROM conversations WHERE tenant_id = %s AND id = %s",
                                     (tenant.id, conv))
            row = await cur.fetchone()
        return row is not None and row["status"] == "resolved"

    await eventually(resolved, what="the 'This solved it' action resolving the conversation")

    email_box = page.locator("#sb-email-box")
    await email_box.locator("summary").click()
    await page.get_by_label("Your email address").fill("ada@example.com")
    await email_box.get_by_role("button", name="Save").click()
    await expect(page.locator("#sb-email-note")).to_contain_text("Saved")
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT source, links FROM identities WHERE tenant_id = %s AND kind = 'email'",
                                 (tenant.id,))
        rows = await cur.fetchall()
    assert [(r["source"], r["links"]) for r in rows] == [("chat_typed_email", False)]  # a claim, not a link
    watched.assert_clean()


async def test_markup_in_messages_is_shown_as_text_live_and_from_history(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = watched.page
    await open_widget(watched, gateway, tenant)
    first = await visitor_sends(watched, SCRIPT)
    await visitor_sends(watched, IMG)
    conv = await conversation_of(pool, tenant, first)
    reply_id = await agent_replies(pool, tenant, conv, f"You wrote {SCRIPT} and {IMG}",
                                   sources=(Source("kb:9#0", IMG, "x", 0.5, "javascript:alert(1)"),))
    reply = page.locator(f'.sb-msg--out[data-id="{reply_id}"]')
    await expect(reply.locator(".sb-bubble")).to_have_text(f"You wrote {SCRIPT} and {IMG}")
    await expect(reply.locator(".sb-sources li")).to_have_text(IMG)  # title as text
    await expect(reply.locator(".sb-sources a")).to_have_count(0)  # javascript: URL is not a link
    await watched.screenshot("widget-markup-as-text")

    await page.reload()  # the same messages again, this time drawn from `history`
    await expect(page.locator("#sb-status")).to_have_text("Online")
    for text in (SCRIPT, IMG):
        await expect(page.locator(".sb-msg--in .sb-bubble").filter(has_text=text)).to_have_count(1)
        await expect(page.locator(".sb-msg--in").get_by_text(text, exact=True)).to_be_visible()
    await expect(page.locator(f'.sb-msg[data-id="{reply_id}"]')).to_have_count(1)
    assert await page.locator("#sb-log img, #sb-log script, #sb-log [onerror]").count() == 0
    watched.assert_clean()


async def test_messages_written_while_offline_appear_exactly_once_after_reconnect(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = watched.page
    await open_widget(watched, gateway, tenant)
    first = await visitor_sends(watched, "Is my order shipped?")
    conv = await conversation_of(pool, tenant, first)
    live = await agent_replies(pool, tenant, conv, "Let me check that for you.")
    await expect(page.locator(f'[data-id="{live}"]')).to_have_count(1)

    # Drop the connection and keep the browser offline, so nothing can arrive but through `resume`.
    await watched.context.set_offline(True)
    await page.evaluate("window.switchboardChat.socket.io.engine.close()")
    await expect(page.locator("#sb-status")).to_have_text("Reconnecting…")
    missed = [await agent_replies(pool, tenant, conv, f"Update {i}: it left the warehouse.") for i in range(3)]
    await eventually(lambda: delivered(pool, tenant, missed), what="the dispatcher pushing to nobody")
    await page.fill("#sb-input", "Thanks! Typed while offline.")
    await page.press("#sb-input", "Enter")
    await expect(page.locator(".sb-msg--pending")).to_have_count(1)
    await watched.screenshot("widget-offline")
    for message_id in missed:
        assert await page.locator(f'[data-id="{message_id}"]').count() == 0

    await watched.context.set_offline(False)
    await expect(page.locator("#sb-status")).to_have_text("Online")
    for message_id in missed:
        await expect(page.locator(f'[data-id="{message_id}"]')).to_have_count(1)
    await expect(page.locator(".sb-msg--pending")).to_have_count(0)
    await expect(page.get_by_text("Thanks! Typed while offline.", exact=True)).to_have_count(1)

    # Exactly once: the page shows each customer-visible stored message one time, in order (the AI
    # may still be adding its own replies or drafts meanwhile, hence the polling).
    async def page_matches_store() -> bool:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = %s AND direction <> 'internal'"
                " AND (reply_kind IS NULL OR reply_kind <> 'suggestion') AND deleted_at IS NULL ORDER BY seq",
                (tenant.id, conv))
            stored = [r["id"] for r in await cur.fetchall()]
        shown = [int(x) for x in await page.locator(f'.sb-conv[data-conversation="{conv}"] .sb-msg').evaluate_all(
            "els => els.map(e => e.dataset.id)")]
        assert len(shown) == len(set(shown)), f"a message is on screen twice: {shown}"
        return shown == stored and {first, live, *missed} <= set(shown)

    await eventually(page_matches_store, what="the page showing exactly the stored messages")
    await watched.screenshot("widget-after-reconnect")
    watched.assert_clean()


async def test_widget_for_an_unknown_tenant_is_a_friendly_404(watched: Watched, gateway: RunningGateway) -> None:
    resp = await watched.page.goto(f"{gateway.url}/widget/no-such-tenant")
    assert resp is not None and resp.status == 404
    await expect(watched.page.get_by_role("heading", name="Chat not found")).to_be_visible()
