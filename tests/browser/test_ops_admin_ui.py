"""Operations depth in real headless Chromium: the customer panel's attributes, the Admin view's CSV import
with its per-row report, and teams and escalation paths created in the console and still there after a reload.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Page, expect
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import customer_attributes, escalation_paths, teams
from store.tenants import Tenant
from tests import factories as f
from tests.browser.conftest import Watched
from tests.browser.test_console import console_page, login, signed_in  # noqa: F401  (fixture)
from tests.copilot.test_console_api import make_agent
from tests.ops import seed
from tests.servers.gateway import RunningGateway


async def admin_view(w: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> Page:
    await make_agent(pool, tenant, f"ada@{tenant.slug}.test", role="admin")
    await login(w, gateway.url, f"ada@{tenant.slug}.test")
    await expect(w.page.locator("#live")).to_have_text("Live")
    await w.page.get_by_role("link", name="Admin").click()
    await expect(w.page.get_by_role("heading", name="Import customer attributes")).to_be_visible()
    return w.page


async def test_the_customer_panel_shows_the_customers_attributes_as_text(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant  # noqa: F811
) -> None:
    w, page = console_page, console_page.page
    r = await ingest(pool, f.email(tenant.id, "vip@acme.test", "Our dashboard is down.", subject="Dashboard down"))
    [row] = await seed.rows(pool, "SELECT customer_id FROM conversations WHERE tenant_id = %s AND id = %s",
                            tenant.id, r.conversation_id)
    changes, errors = customer_attributes.validate(
        {"plan_tier": "enterprise", "account_value": "125000.50", "customer_since": "2019-04-01", "region": "EMEA",
         "attributes": {"csm": "<img src=x onerror=alert(1)>dana", "seats": "40"}},
        today=datetime.now(UTC).date())
    assert not errors
    async with pool.connection() as conn:
        await customer_attributes.apply(conn, tenant.id, row["customer_id"], changes, actor="test")

    await signed_in(w, gateway, pool, tenant)  # a plain agent: reads them, cannot edit them
    await page.goto(f"{gateway.url}/console#/c/{r.conversation_id}")
    await expect(page.get_by_role("heading", name="Dashboard down")).to_be_visible()
    panel = page.locator("#cust-attributes dl")
    await expect(panel.locator("dt")).to_have_text(
        ["Plan tier", "Account value", "Customer since", "Region", "csm", "seats"])
    await expect(panel.locator("dd")).to_have_text(
        ["enterprise", "125000.5", "2019-04-01", "EMEA", "<img src=x onerror=alert(1)>dana", "40"])
    assert await page.locator("#cust-attributes img").count() == 0
    await expect(page.get_by_role("button", name="Edit attributes")).to_have_count(0)
    await page.locator("#cust-attributes").scroll_into_view_if_needed()
    await w.screenshot("console-customer-attributes")
    w.assert_clean()


GOOD_AND_BAD = (
    "email,name,plan_tier,account_value,customer_since,region,attr.crm_owner\n"
    "one@acme.test,One,enterprise,1200,2020-02-02,EMEA,dana\n"   # line 2: imported
    "two@acme.test,Two,pro,lots,2021-01-01,NA,\n"                 # line 3: account_value is not an amount
    "three@acme.test,Three,starter,10,,APAC,\n"                   # line 4: imported
)


async def test_csv_import_shows_the_bad_line_and_field_and_imports_the_good_rows(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant,  # noqa: F811
    tmp_path: Path,
) -> None:
    w = console_page
    page = await admin_view(w, gateway, pool, tenant)
    good_and_bad, bad_header = tmp_path / "customers.csv", tmp_path / "wrong.csv"
    good_and_bad.write_text(GOOD_AND_BAD, encoding="utf-8")
    bad_header.write_text("email,tier\nx@acme.test,pro\n", encoding="utf-8")

    await page.get_by_label("CSV file").set_input_files(str(good_and_bad))
    await page.get_by_role("button", name="Import CSV").click()
    summary = page.locator("#adm-import-summary")
    await expect(summary).to_contain_text("Imported 2 of 3 rows (2 new, 0 updated).")
    await expect(summary).to_contain_text("1 row not imported")
    report = page.get_by_role("table", name="Rows not imported")
    await expect(report.locator("tbody tr")).to_have_count(1)
    await expect(report.locator("tbody tr td").nth(0)).to_have_text("3")
    await expect(report.locator("tbody tr td").nth(1)).to_have_text("account_value")
    await expect(report.locator("tbody tr td").nth(2)).not_to_be_empty()
    await page.locator("#adm-import-result").scroll_into_view_if_needed()
    await w.screenshot("console-admin-import")

    rows = await seed.rows(pool, "SELECT i.value, c.plan_tier, c.region, c.attributes FROM customers c JOIN identities i"
                           " ON i.tenant_id = c.tenant_id AND i.customer_id = c.id WHERE c.tenant_id = %s"
                           " AND i.kind = 'email' ORDER BY i.value", tenant.id)
    assert [(x["value"], x["plan_tier"], x["region"]) for x in rows] == [
        ("one@acme.test", "enterprise", "EMEA"), ("three@acme.test", "starter", "APAC")]
    assert rows[0]["attributes"] == {"crm_owner": "dana"}

    await page.get_by_label("CSV file").set_input_files(str(bad_header))
    await page.get_by_role("button", name="Import CSV").click()
    await expect(summary).to_contain_text("Nothing imported")
    await expect(summary).to_contain_text("header.tier: unknown column")
    await expect(report).to_be_hidden()
    w.assert_clean()


async def test_teams_and_escalation_paths_are_created_in_the_admin_view_and_listed_after_a_reload(
    console_page: Watched, gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant  # noqa: F811
) -> None:
    w = console_page
    lena = await seed.agent(pool, tenant.id, "lena", role="lead")
    max_ = await seed.agent(pool, tenant.id, "max")
    await seed.agent(pool, tenant.id, "fin")
    page = await admin_view(w, gateway, pool, tenant)
    await expect(page.locator("#adm-teams-empty")).to_be_visible()

    team_form = page.locator("#adm-team-form")
    await team_form.get_by_label("Slug", exact=True).fill("security")
    await team_form.get_by_label("Name", exact=True).fill("Security <i>team</i>")
    await team_form.get_by_label("Lead", exact=True).select_option(label="lena (lead)")
    members = team_form.get_by_role("group", name="Members")
    await members.get_by_label("lena", exact=True).check()
    await members.get_by_label("max", exact=True).check()
    await team_form.get_by_label("Skills (comma separated)").fill("security, Incidents")
    await team_form.get_by_role("button", name="Create team").click()
    await expect(page.locator("#adm-team-status")).to_have_text("Created team Security <i>team</i>.")
    team_row = page.locator("#adm-teams-body tr", has_text="Security <i>team</i>")  # as text, not markup
    await expect(team_row.locator("td")).to_have_text(
        [re.compile(r"^Security <i>team</i>\s+security$"), "lena", "lena, max", "security, incidents", "Remove"])

    path_form = page.locator("#adm-path-form")
    await expect(path_form.locator("#adm-path-placeholders")).to_contain_text("{conversation_id}")
    await path_form.get_by_label("Kind", exact=True).fill("security_incident")
    await path_form.get_by_label("Name", exact=True).fill("Security incident")
    await path_form.get_by_label("Owner", exact=True).select_option(label="Security <i>team</i>")
    await path_form.get_by_label("Expected response (minutes)").fill("30")
    await path_form.get_by_label("Template (what the owner is sent)").fill("Incident on #{customer.__class__}")
    await path_form.get_by_role("button", name="Create path").click()
    status = page.locator("#adm-path-status")
    await expect(status).to_contain_text("Path not created: template:")  # the server's field and reason
    await path_form.get_by_label("Template (what the owner is sent)").fill("Incident on #{conversation_id} ({tier}): {note} {link}")
    await path_form.get_by_role("button", name="Create path").click()
    await expect(status).to_have_text("Created escalation path Security incident.")

    await page.reload()
    await expect(page.get_by_role("heading", name="Escalation paths")).to_be_visible()
    await expect(page.locator("#adm-teams-body tr")).to_have_count(1)
    await expect(page.locator("#adm-teams-body tr td").nth(2)).to_have_text("lena, max")
    path_row = page.locator("#adm-paths-body tr")
    await expect(path_row).to_have_count(1)
    await expect(path_row.locator("td")).to_have_text(
        ["security_incident", "Security incident", "Team: Security <i>team</i>", "30",
         "Incident on #{conversation_id} ({tier}): {note} {link}", "Remove"])
    await page.get_by_role("heading", name="Teams").scroll_into_view_if_needed()
    await w.screenshot("console-admin-teams-paths")

    await page.get_by_role("button", name="Remove team Security <i>team</i>").click()  # a path still needs it
    await expect(page.locator("#adm-team-status")).to_contain_text("an escalation path is owned by this team")
    await expect(page.locator("#adm-teams-body tr")).to_have_count(1)

    async with pool.connection() as conn:
        [team] = await teams.list_all(conn, tenant.id)
        [path] = await escalation_paths.list_all(conn, tenant.id)
    assert (team.slug, team.lead_id, sorted(team.member_ids), list(team.skills)) == (
        "security", lena, sorted([lena, max_]), ["security", "incidents"])
    assert (path.kind, path.owner_team_id, path.owner_agent_id, path.response_minutes) == (
        "security_incident", team.id, None, 30)
    assert not w.dialogs, w.dialogs
    w.assert_clean()
