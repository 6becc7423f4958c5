"""One customer identity across channels, following the trust table (DESIGN.md)."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import audit, conversations, customers
from store.tenants import Tenant
from tests import factories as f


async def _group(pool: AsyncConnectionPool, tenant_id: int, customer_id: int) -> list[int]:
    async with pool.connection() as conn:
        return await customers.group(conn, tenant_id, customer_id)


async def test_form_and_email_with_one_address_are_one_customer(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    a = await ingest(pool, f.form(tenant.id, "Jo@Example.com", "my invoice is wrong"))
    b = await ingest(pool, f.email(tenant.id, "jo@example.com", "following up on my invoice"))
    assert a.customer_id == b.customer_id
    # The email threads into the open conversation the form started (trust: threads = yes).
    assert a.conversation_id == b.conversation_id
    c = await ingest(pool, f.email(tenant.id, "someone.else@example.com", "unrelated"))
    assert c.customer_id != a.customer_id and c.conversation_id != a.conversation_id


async def test_slack_user_in_verified_workspace_merges_by_profile_email(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    mail = await ingest(pool, f.email(tenant.id, "kim@example.com", "printer on fire"))
    sl = await ingest(pool, f.slack(tenant.id, "T1", "U1", profile_email="kim@example.com", verified_workspace=True))
    assert sl.customer_id == mail.customer_id
    async with pool.connection() as conn:
        merges = await customers.merges(conn, tenant.id, [mail.customer_id])
        events = await audit.list_for(conn, tenant.id, "customer", mail.customer_id)
    assert len(merges) == 1 and merges[0]["claim_source"] == "slack_profile_email_verified_workspace"
    assert any(e["action"] == "customer.merged" for e in events)
    # A Slack thread is its own conversation, not the email one.
    assert sl.conversation_id != mail.conversation_id


async def test_slack_user_in_other_workspace_is_only_a_claim(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    mail = await ingest(pool, f.email(tenant.id, "lee@example.com", "hello"))
    sl = await ingest(pool, f.slack(tenant.id, "T9", "U9", profile_email="lee@example.com", verified_workspace=False))
    assert sl.customer_id != mail.customer_id
    async with pool.connection() as conn:
        idents = await customers.identities(conn, tenant.id, [sl.customer_id])
    claim = [i for i in idents if i.value == "lee@example.com"]
    assert len(claim) == 1 and not claim[0].links  # agents see the claim; nothing merged


async def test_chat_visitor_sees_history_only_after_verifying(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    old = await ingest(pool, f.email(tenant.id, "max@example.com", "SECRET-ORDER-4711 refund please"))
    async with pool.connection() as conn:
        await conversations.transition(conn, tenant.id, old.conversation_id, conversations.S.RESOLVED, actor="test")
    visit = await ingest(pool, f.chat(tenant.id, "visitor-1", "hi, it's me", typed_email="max@example.com"))
    assert visit.customer_id != old.customer_id
    assert visit.conversation_id != old.conversation_id
    # Before verification the visitor's customer group does not include the email customer.
    group = await _group(pool, tenant.id, visit.customer_id)
    assert old.customer_id not in group
    async with pool.connection() as conn:
        visible = await conversations.list_for_customers(conn, tenant.id, group)
        texts = [m.text for c in visible for m in await conversations.messages(conn, tenant.id, c.id)]
    assert not any("SECRET-ORDER-4711" in t for t in texts)

    async with pool.connection() as conn, conn.transaction():
        root = await customers.verify_claim(conn, tenant.id, visit.customer_id, "max@example.com", actor="visitor")
    assert root == old.customer_id
    group = await _group(pool, tenant.id, visit.customer_id)
    async with pool.connection() as conn:
        visible = await conversations.list_for_customers(conn, tenant.id, group)
        texts = [m.text for c in visible for m in await conversations.messages(conn, tenant.id, c.id)]
        merges = await customers.merges(conn, tenant.id, [old.customer_id])
    assert any("SECRET-ORDER-4711" in t for t in texts)
    assert merges[0]["reason"].startswith("visitor verified") and merges[0]["actor"] == "visitor"


async def test_admin_undoes_a_merge(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    mail = await ingest(pool, f.email(tenant.id, "sam@example.com", "hi"))
    sl = await ingest(pool, f.slack(tenant.id, "T1", "U2", profile_email="sam@example.com", verified_workspace=True))
    assert sl.customer_id == mail.customer_id
    async with pool.connection() as conn:
        merge_id = (await customers.merges(conn, tenant.id, [mail.customer_id]))[0]["id"]
    async with pool.connection() as conn, conn.transaction():
        await customers.undo_merge(conn, tenant.id, merge_id, actor="admin:1")
    # The Slack user's own customer stands alone again; its next message stays with it.
    again = await ingest(pool, f.slack(tenant.id, "T1", "U2", "still me"))
    assert again.customer_id != mail.customer_id
    async with pool.connection() as conn:
        events = await audit.list_for(conn, tenant.id, "customer", mail.customer_id)
        merges = await customers.merges(conn, tenant.id, [mail.customer_id])
    assert [e["action"] for e in events] == ["customer.merged", "customer.merge_undone"]
    assert merges[0]["undone_by"] == "admin:1"


async def test_email_reply_threads_by_references_but_never_across_senders(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    first = await ingest(pool, f.email(tenant.id, "ann@example.com", "q1", message_id="<m1@ann.test>"))
    reply = await ingest(pool, f.email(tenant.id, "ann@example.com", "q1 again", references=("<m1@ann.test>",)))
    assert reply.conversation_id == first.conversation_id
    stranger = await ingest(pool, f.email(tenant.id, "bob@example.com", "me too", references=("<m1@ann.test>",)))
    assert stranger.conversation_id != first.conversation_id
