"""The hosted contact form in real headless Chromium: submit, double submit, field errors, honeypot."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from psycopg_pool import AsyncConnectionPool

from store import tenants
from store.tenants import Tenant
from tests.browser.conftest import Watched
from tests.servers.gateway import RunningGateway

expect.set_options(timeout=15_000)
# The form's confirmation: a system notice (the AI's own replies to the same message are not counted).
CONFIRMATIONS = " AND payload->>'author_kind' = 'system' AND payload->>'kind' = 'notice'"


async def rows(pool: AsyncConnectionPool, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def webform_conversations(pool: AsyncConnectionPool, tenant: Tenant) -> list[dict[str, Any]]:
    return await rows(pool, "SELECT c.id, count(m.id) AS messages FROM conversations c JOIN messages m"
                            " ON m.conversation_id = c.id AND m.direction = 'in' WHERE c.tenant_id = %s"
                            " AND m.channel = 'webform' GROUP BY c.id", tenant.id)


async def fill_form(w: Watched, url: str, *, name: str = "Ada Lovelace", email: str = "ada@example.com",
                    subject: str = "Invoice question", message: str = "My invoice shows the wrong VAT number.") -> None:
    await w.page.goto(url)
    page = w.page
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Subject").fill(subject)
    await page.get_by_label("How can we help?").fill(message)


async def test_submit_shows_a_confirmation_and_a_double_submit_makes_one_conversation(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = watched.page
    url = f"{gateway.url}/forms/{tenant.slug}"
    await fill_form(watched, url, name="<script>alert(1)</script>")
    await expect(page.get_by_role("heading", name="Contact us")).to_be_visible()
    await page.set_viewport_size({"width": 1100, "height": 900})
    await watched.screenshot("form-desktop")
    await page.set_viewport_size({"width": 480, "height": 720})
    await watched.screenshot("form")
    form_data = await page.locator("form.sb-form").evaluate(
        "f => new URLSearchParams(new FormData(f)).toString()")

    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_role("heading", name="Thanks, <script>alert(1)</script>!")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("We received your message")
    await expect(page.get_by_text("doesn't send confirmation emails")).to_be_visible()  # email not configured
    await watched.screenshot("form-confirmation")

    # The same form posted again (a double click, a reload of the POST): same token → same conversation.
    resp = await page.request.post(url, data=form_data,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200 and "We received your message" in await resp.text()
    [conversation] = await webform_conversations(pool, tenant)
    assert conversation["messages"] == 1
    [customer_email] = await rows(pool, "SELECT value, source, links FROM identities WHERE tenant_id = %s",
                                  tenant.id)
    assert customer_email == {"value": "ada@example.com", "source": "form_email", "links": True}
    # No confirmation email is queued when the tenant has no email configured (the AI may answer, though).
    assert await rows(pool, "SELECT id FROM outbox WHERE tenant_id = %s" + CONFIRMATIONS, tenant.id) == []
    watched.assert_clean()


async def test_missing_email_is_shown_next_to_the_field_and_input_is_kept(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = watched.page
    await fill_form(watched, f"{gateway.url}/forms/{tenant.slug}", email="")
    async with page.expect_response(lambda r: r.request.method == "POST") as posted:
        await page.get_by_role("button", name="Send message").click()
    assert (await posted.value).status == 422
    email = page.get_by_label("Email address")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-email-error")).to_have_text("Email address is required")
    await expect(page.get_by_role("alert")).to_contain_text("Please fix this problem")
    await expect(page.get_by_label("How can we help?")).to_have_value("My invoice shows the wrong VAT number.")
    await expect(page.get_by_label("Your name")).to_have_value("Ada Lovelace")
    await watched.screenshot("form-errors")

    await email.fill("not-an-address")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.locator("#f-email-error")).to_contain_text("is not a valid email address")
    await email.fill("ada@example.com")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_role("heading", name="Thanks, Ada Lovelace!")).to_be_visible()
    assert len(await webform_conversations(pool, tenant)) == 1
    watched.assert_clean()


async def test_honeypot_pretends_success_and_stores_nothing(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    page = watched.page
    await fill_form(watched, f"{gateway.url}/forms/{tenant.slug}")
    await page.locator("input[name=website]").fill("http://spam.example", force=True)
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_role("heading", name="Thanks, Ada Lovelace!")).to_be_visible()
    assert await webform_conversations(pool, tenant) == []
    assert await rows(pool, "SELECT id FROM customers WHERE tenant_id = %s", tenant.id) == []
    watched.assert_clean()


async def test_confirmation_email_is_queued_once_when_email_is_configured(
    watched: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"email_enabled": True})
    page = watched.page
    url = f"{gateway.url}/forms/{tenant.slug}"
    await fill_form(watched, url)
    await expect(page.get_by_text("You'll get a confirmation email right away.")).to_be_visible()
    form_data = await page.locator("form.sb-form").evaluate(
        "f => new URLSearchParams(new FormData(f)).toString()")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_text("A confirmation email is on its way to ada@example.com.")).to_be_visible()
    resp = await page.request.post(url, data=form_data,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    queued = await rows(pool, "SELECT channel, payload->>'kind' AS kind, payload->'body'->>'subject' AS subject"
                              " FROM outbox WHERE tenant_id = %s" + CONFIRMATIONS, tenant.id)
    [conversation] = await webform_conversations(pool, tenant)
    assert queued == [{"channel": "email", "kind": "notice", "subject": f"Re: Invoice question [#{conversation['id']}]"}]
    watched.assert_clean()
