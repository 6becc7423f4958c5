"""The agent console in real headless Chromium: login, live queue, streamed suggestion, send, notes, isolation, XSS.

The customer side is the python chat ``Visitor`` (a real Socket.IO client on /chat), so what the
customer receives is asserted on exactly what the widget would be pushed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Dialog, expect
from psycopg_pool import AsyncConnectionPool

from agent_graph.kb_import import import_directory
from gateway.ingest import ingest
from store import handoffs, triage
from store.models import Classification
from store.tenants import Tenant
from tests import factories as f
from tests.browser.conftest import Watched
from tests.channels.test_chat import Visitor, session_token
from tests.copilot.test_console_api import PASSWORD, make_agent
from tests.servers.gateway import RunningGateway

REPO = Path(__file__).resolve().parents[2]
WAIT = 20_000  # ms: every expect below polls up to this deadline


@pytest.fixture
async def console_page(browser: Browser) -> AsyncIterator[Watched]:
    """A desktop-sized page with dialogs (alert = injected script ran) and JS errors recorded."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.set_default_timeout(WAIT)
    page = await context.new_page()
    w = Watched(page, context)

    async def on_dialog(dialog: Dialog) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: w.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: w.errors.append(f"pageerror: {exc}"))
    yield w
    await context.close()


async def login(w: Watched, base: str, email: str, password: str = PASSWORD) -> None:
    await w.page.goto(f"{base}/console")
    await expect(w.page).to_have_url(re.compile(r"/console/login$"))
    await w.page.get_by_label("Email").fill(email)
    await w.page.get_by_label("Password").fill(password)
    await w.page.get_by_role("button", name="Sign in").click()


async def signed_in(w: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,
                    email: str = "ann") -> None:
    await make_agent(pool, tenant, f"{email}@{tenant.slug}.test")
    await login(w, gateway.url, f"{email}@{tenant.slug}.test")
    await expect(w.page).to_have_url(re.compile(r"/console$"))
    await expect(w.page.locator("#live")).to_have_text("Live")


async def visitor(gateway: RunningGateway, tenant: Tenant) -> Visitor:
    v = Visitor()
    await v.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    return v


async def test_live_queue_streamed_suggestion_edit_send_and_internal_note(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    w, page = console_page, console_page.page
    await import_directory(pool, tenant.id, REPO / "gateway" / "demo_kb", progress=False)
    await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    await page.goto(f"{gateway.url}/console")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await w.screenshot("console-login")
    await page.get_by_label("Email").fill(f"ann@{tenant.slug}.test")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#live")).to_have_text("Live")
    await page.get_by_role("tab", name=re.compile("^All")).click()
    await expect(page.get_by_role("tab", name=re.compile("^All"))).to_have_attribute("aria-selected", "true")
    await page.evaluate("window.__noReload = 'still the same page'")

    v = await visitor(gateway, tenant)
    try:
        ack = await v.call("message", {"client_id": "pw-1", "text": "How do I reset my password? I forgot it."})
        cid = ack["conversation_id"]
        item = page.locator(f'#queue-list a[data-id="{cid}"]')
        await expect(item).to_be_visible()  # arrived live over the socket
        await expect(item).to_contain_text("How do I reset my password?")
        await expect(item.locator(".ch-chat")).to_have_text("Chat")
        assert await page.evaluate("window.__noReload") == "still the same page"
        await w.screenshot("console-queue")

        await item.click()
        await expect(page).to_have_url(re.compile(rf"#/c/{cid}$"))
        timeline = page.locator("#timeline")
        await expect(timeline.locator(".msg-in").first).to_contain_text("How do I reset my password? I forgot it.")

        await page.get_by_role("button", name="Suggest reply").click()
        status = page.locator("#suggest-status")
        await expect(status).to_contain_text("Based on", timeout=60_000)
        await expect(status).to_contain_text("KB article")
        await expect(page.locator("#kb-sources li").first).to_be_visible()
        await expect(page.locator("#kb-sources")).to_contain_text(re.compile("password", re.I))
        await expect(page.get_by_role("button", name="Regenerate")).to_be_enabled()
        editor = page.get_by_label("Message")
        draft = await editor.input_value()
        assert draft.strip(), "the streamed suggestion should fill the editor"
        assert int(await status.get_attribute("data-chunks") or 0) >= 2, "the draft should arrive in pieces"
        await expect(page.locator("#preview .pv-bubble").first).to_be_visible()
        await w.screenshot("console-conversation-suggestion")

        await editor.press("Control+End")
        await editor.press_sequentially(" Anything else I can help with?")
        await expect(page.locator("#preview")).to_contain_text("Anything else I can help with?")
        await page.locator("#preview").scroll_into_view_if_needed()
        await w.screenshot("console-chat-preview")

        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#flash")).to_contain_text("Sent (suggestion edited)")
        pushed = await v.wait_for(lambda m: "Anything else I can help with?" in m.get("text", ""), within=20)
        assert pushed["author"] == "agent" and pushed["text"].startswith(draft.strip()[:40])
        sent = timeline.locator(".msg-out.by-agent").last
        await expect(sent).to_contain_text("Anything else I can help with?")
        await expect(sent.locator(".delivery")).to_have_text("Delivered")

        await page.get_by_label("Internal note").check()
        await editor.fill("INTERNAL-ONLY check the ledger first")
        await page.get_by_role("button", name="Add internal note").click()
        note = timeline.locator(".msg-note").last
        await expect(note).to_contain_text("INTERNAL-ONLY check the ledger first")
        await expect(note).to_contain_text("Internal note — never sent")
        # A later reply reaches the customer, so the note would have arrived before it if it were sent.
        await page.get_by_label("Reply to customer").check()
        await editor.fill("One more thing: the link expires in an hour.")
        await page.get_by_role("button", name="Send", exact=True).click()
        await v.wait_for(lambda m: "link expires in an hour" in m.get("text", ""), within=20)
        history = await v.call("history", {})
        texts = [m["text"] for c in history["conversations"] for m in c["messages"]]
        assert not any("INTERNAL-ONLY" in t for t in [*texts, *(m.get("text", "") for m in v.pushed)])
        assert any("Anything else I can help with?" in t for t in texts)
        await w.screenshot("console-conversation-sent")

        await page.get_by_role("button", name="Log out").click()
        await expect(page).to_have_url(re.compile(r"/console/login$"))
        await page.goto(f"{gateway.url}/console")
        await expect(page).to_have_url(re.compile(r"/console/login$"))
    finally:
        await v.sio.disconnect()
    w.assert_clean()


async def test_customer_markup_is_shown_as_text_and_the_handoff_summary_is_shown(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    w, page = console_page, console_page.page
    await signed_in(w, gateway, pool, tenant)
    v = await visitor(gateway, tenant)
    try:
        evil = "<img src=x onerror=alert(1)> and <script>alert(2)</script>"
        ack = await v.call("message", {"client_id": "x-1", "text": evil})
        cid = ack["conversation_id"]
        async with pool.connection() as conn:
            await handoffs.save(conn, tenant.id, cid, message_id=None, reason="customer asked for a human",
                                reported="<b>bold</b> claim", tried=["reset link"], likely_cause="expired link",
                                sources=[], classification={}, assigned_agent_id=None,
                                summary="Customer cannot log in <img src=y onerror=alert(3)>")
        await page.goto(f"{gateway.url}/console#/c/{cid}")
        msg = page.locator("#timeline .msg-in").first
        await expect(msg.locator(".msg-text")).to_have_text(evil)  # the literal text, not markup
        assert await page.locator("#timeline img, #timeline script, #handoff img").count() == 0
        handoff = page.locator("#handoff")
        await expect(handoff).to_contain_text("Customer cannot log in <img src=y onerror=alert(3)>")
        await expect(handoff).to_contain_text("<b>bold</b> claim")
        await page.get_by_role("tab", name=re.compile("^All")).click()
        await expect(page.locator(f'#queue-list a[data-id="{cid}"]')).to_contain_text("<img src=x onerror=alert(1)>")
        await w.screenshot("console-markup-as-text")
    finally:
        await v.sio.disconnect()
    assert not w.dialogs, w.dialogs
    w.assert_clean()


async def test_another_tenants_conversation_is_not_found_and_shows_none_of_its_data(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant
) -> None:
    w, page = console_page, console_page.page
    theirs = await ingest(pool, f.email(other_tenant.id, "secret@globex.test", "GLOBEX-SECRET order 1234"))
    await signed_in(w, gateway, pool, tenant)
    await page.goto(f"{gateway.url}/console#/c/{theirs.conversation_id}")
    await expect(page.get_by_role("heading", name="Conversation not found")).to_be_visible()
    await expect(page.locator("#conversation")).to_be_hidden()
    await page.get_by_role("tab", name=re.compile("^All")).click()
    await expect(page.get_by_role("tab", name=re.compile("^All"))).to_have_attribute("aria-selected", "true")
    body = await page.locator("body").inner_text()
    assert "GLOBEX-SECRET" not in body and "secret@globex.test" not in body
    status = await page.evaluate(
        "async (id) => (await fetch(`/console/api/conversations/${id}`)).status", theirs.conversation_id)
    assert status == 404
    await w.screenshot("console-not-found")
    w.assert_clean()


async def test_lockout_after_failed_logins_is_shown_on_the_login_page(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    w, page = console_page, console_page.page
    email = f"bob@{tenant.slug}.test"
    await make_agent(pool, tenant, email)
    for _ in range(5):
        await login(w, gateway.url, email, "not the password")
        await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await login(w, gateway.url, email, PASSWORD)
    await expect(page.get_by_role("alert")).to_have_text("Too many failed attempts. Try again in a few minutes.")
    await w.screenshot("console-login-locked")
    await page.goto(f"{gateway.url}/console")
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    w.assert_clean()


async def test_email_classification_correction_preview_and_dashboards(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    w, page = console_page, console_page.page
    r = await ingest(pool, f.email(tenant.id, "cus@example.com", "I was charged twice for March.",
                                   subject="Double charge on my invoice"))
    async with pool.connection() as conn:
        await triage.record_classification(
            conn, tenant.id, r.conversation_id, r.message_id,
            Classification("billing", 0.91, "medium", 0.64, "negative", 0.72), backend="test", model_version=None)
    await signed_in(w, gateway, pool, tenant)
    await page.goto(f"{gateway.url}/console#/c/{r.conversation_id}")
    await expect(page.get_by_role("heading", name="Double charge on my invoice")).to_be_visible()
    await expect(page.locator("#timeline .msg-in .msg-text")).to_have_text("I was charged twice for March.")
    ident = page.locator("#identities li").first
    await expect(ident).to_contain_text("cus@example.com")
    await expect(page.locator("#cls")).to_contain_text(re.compile(r"Category\s*\S+\s*\d+%"))

    await page.get_by_label("Category", exact=True).select_option("technical")
    await page.get_by_label("Urgency", exact=True).select_option("high")
    await page.get_by_role("button", name="Save correction").click()
    await expect(page.locator("#flash")).to_contain_text("Correction recorded")
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT field, new_value FROM classification_overrides WHERE tenant_id = %s"
                                 " ORDER BY field", (tenant.id,))
        assert [(row["field"], row["new_value"]) for row in await cur.fetchall()] == [
            ("category", "technical"), ("urgency", "high")]
    await expect(page.locator("#cls")).to_contain_text("technical")

    await page.get_by_label("Message").fill("We refunded the duplicate charge; it shows in 3-5 days.")
    email = page.locator("#preview .pv-email")
    await expect(email.locator(".pv-subject")).to_contain_text("Double charge on my invoice")
    await expect(email.locator(".pv-email-body")).to_contain_text("We refunded the duplicate charge")
    await page.locator("#preview").scroll_into_view_if_needed()
    await w.screenshot("console-email-preview")

    await page.get_by_role("link", name="Dashboards").click()
    await expect(page.get_by_role("heading", name="Dashboards for managers")).to_be_visible()
    await expect(page.locator("#dash-list")).to_contain_text("Switchboard · Operations")
    await w.screenshot("console-dashboards")
    w.assert_clean()


async def test_admin_creates_an_agent_in_the_admin_view(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    w, page = console_page, console_page.page
    await make_agent(pool, tenant, f"ada@{tenant.slug}.test", role="admin")
    await login(w, gateway.url, f"ada@{tenant.slug}.test")
    await expect(page.locator("#live")).to_have_text("Live")
    await page.get_by_role("link", name="Admin").click()
    await expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    form = page.locator("#adm-agent-form")
    await form.get_by_label("Email").fill(f"nia@{tenant.slug}.test")
    await form.get_by_label("Name").fill("Nia <b>New</b>")
    await form.get_by_label("Role").select_option("lead")
    await form.get_by_label("Skills (comma separated)").fill("billing, shipping")
    await form.get_by_label("Initial password (10+ characters)").fill("a fine password")
    await form.get_by_label("Initial password (10+ characters)").press("Enter")  # keyboard submit
    row = page.locator("#adm-agents-body tr", has_text=f"nia@{tenant.slug}.test")
    await expect(row).to_contain_text("Nia <b>New</b>")  # shown as text, not markup
    await expect(row.get_by_label("Skills of Nia <b>New</b>")).to_have_value("billing, shipping")
    await expect(page.locator("#admin-flash")).to_contain_text("Created")
    await w.screenshot("console-admin")
    w.assert_clean()
