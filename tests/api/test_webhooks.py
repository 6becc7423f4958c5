"""Outgoing webhooks end to end: subscriptions over REST, events written with the change they report,
delivered through the real outbox dispatcher to a real local HTTP receiver, signed as the README says."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from psycopg_pool import AsyncConnectionPool

from gateway.api.webhook_sender import WebhookSender
from gateway.dispatcher import Dispatcher
from gateway.ingest import ingest
from gateway.ops.routing import SkillRouter
from gateway.ops.sla_ladder import SlaLadder
from store import csat, mailboxes, notifications, webhooks
from store.models import Channel
from store.notifications import Notification
from store.tenants import Tenant
from tests import factories as f
from tests.api.conftest import call, make_token
from tests.ops import seed
from tests.servers.gateway import RunningGateway
from tests.servers.webhook_receiver import WebhookReceiver, webhook_receiver

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def readme_verify() -> Callable[[str, str, bytes], bool]:
    """The receiver-side check exactly as documented, so the README cannot drift from the signing code."""
    section = README.split("### Verifying webhook signatures", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet, "README lost its verification snippet"
    scope: dict[str, Any] = {}
    exec(snippet.group(1), scope)
    return scope["verify"]


async def subscribe(api: RunningGateway, http: aiohttp.ClientSession, admin: str, url: str,
                    events: list[str]) -> dict[str, Any]:
    status, _, sub = await call(http, "POST", f"{api.url}/api/v1/webhooks", admin, json={"url": url, "events": events})
    assert status == 201, sub
    return sub


async def deliver_until(pool: AsyncConnectionPool, sender: WebhookSender, done: Callable[[], bool],
                        within: float = 20) -> None:
    """Two real dispatchers race for the rows (SKIP LOCKED), pass after pass, until ``done`` (deadline)."""
    dispatchers = [Dispatcher(pool, {Channel.WEBHOOK: sender}) for _ in range(2)]
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "webhook deliveries did not finish in time"
        await asyncio.gather(*(d.run_once() for d in dispatchers))
        await asyncio.sleep(0.05)


async def test_signed_deliveries_arrive_exactly_once_after_failures(
        api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool, tenant: Tenant) -> None:
    admin = await make_token(pool, tenant.id, "admin")
    verify = readme_verify()
    async with webhook_receiver(fail_first=3) as rx:
        sub = await subscribe(api, http, admin, rx.url, ["conversation.created", "message.created"])
        r = await ingest(pool, f.email(tenant.id, "ann@acme.test", "My invoice is wrong"))
        sender = WebhookSender(pool, disable_after=10)
        await deliver_until(pool, sender, lambda: len(rx.processed) == 2)
        # a few more passes: nothing is due any more, so nothing is sent again
        for _ in range(3):
            await Dispatcher(pool, {Channel.WEBHOOK: sender}).run_once()

    assert [q.status for q in rx.requests[:3]] == [503, 503, 503]
    assert all(verify(sub["secret"], q.headers["Switchboard-Signature"], q.body) for q in rx.requests)
    assert not verify("whsec_wrong", rx.requests[-1].headers["Switchboard-Signature"], rx.requests[-1].body)
    assert not verify(sub["secret"], rx.requests[-1].headers["Switchboard-Signature"], rx.requests[-1].body + b" ")
    assert dict(rx.processed) == {i: 1 for i in rx.processed}  # each event's effect once
    accepted = [q for q in rx.requests if q.status == 200]
    assert len(accepted) == 2  # and each event accepted once: no duplicate delivery after success
    assert {q.headers["Webhook-Id"] for q in rx.requests} == set(rx.processed)  # retries reuse the id
    by_type = {e["type"]: e for e in rx.events.values()}
    assert by_type["conversation.created"]["data"]["conversation_id"] == r.conversation_id
    assert by_type["message.created"]["data"] == {**by_type["message.created"]["data"],
                                                  "message_id": r.message_id, "text": "My invoice is wrong",
                                                  "direction": "in"}

    status, _, log = await call(http, "GET", f"{api.url}/api/v1/webhooks/{sub['id']}/deliveries", admin)
    assert status == 200 and {d["status"] for d in log["data"]} == {"sent"}
    assert sum(d["attempts"] for d in log["data"]) == 5 and {d["event_id"] for d in log["data"]} == set(rx.processed)
    status, _, shown = await call(http, "GET", f"{api.url}/api/v1/webhooks/{sub['id']}", admin)
    assert status == 200 and shown["consecutive_failures"] == 0 and "secret" not in shown


async def test_events_follow_their_changes_and_subscriptions_filter(
        api: RunningGateway, http: aiohttp.ClientSession, pool: AsyncConnectionPool, tenant: Tenant) -> None:
    admin = await make_token(pool, tenant.id, "admin")
    async with webhook_receiver() as everything, webhook_receiver() as resolved_only:
        await subscribe(api, http, admin, everything.url, list(webhooks.EVENT_TYPES))
        await subscribe(api, http, admin, resolved_only.url, ["conversation.resolved"])
        r = await ingest(pool, f.email(tenant.id, "ann@acme.test"))
        url = f"{api.url}/api/v1/conversations/{r.conversation_id}"
        assert (await call(http, "PATCH", url, admin, json={"status": "pending_agent"}))[0] == 200
        assert (await call(http, "PATCH", url, admin, json={"status": "resolved"}))[0] == 200
        assert (await call(http, "POST", f"{url}/notes", admin, json={"text": "internal"}))[0] == 201
        async with pool.connection() as conn:
            await csat.record_answer(conn, tenant.id, r.conversation_id, score=4, comment="thanks", channel="email",
                                     actor="customer", now=datetime.now(UTC))
        await deliver_until(pool, WebhookSender(pool, disable_after=10),
                            lambda: len(everything.processed) == 5 and len(resolved_only.processed) == 1)

    types = sorted(e["type"] for e in everything.events.values())
    assert types == sorted(["conversation.created", "message.created", "conversation.escalated",
                            "conversation.resolved", "csat.received"])  # the internal note is no event
    assert [e["type"] for e in resolved_only.events.values()] == ["conversation.resolved"]
    resolved = next(iter(resolved_only.events.values()))["data"]
    assert (resolved["conversation_id"], resolved["status"], resolved["from_status"]) == (
        r.conversation_id, "resolved", "pending_agent")
    score = next(e for e in everything.events.values() if e["type"] == "csat.received")["data"]
    assert (score["score"], score["comment"]) == (4, "thanks")


async def test_rolled_back_change_sends_no_event(api: RunningGateway, http: aiohttp.ClientSession,
                                                 pool: AsyncConnectionPool, tenant: Tenant) -> None:
    admin = await make_token(pool, tenant.id, "admin")
    await subscribe(api, http, admin, "http://127.0.0.1:9/hook", ["conversation.created"])
    async with pool.connection() as conn:
        tx = conn.transaction()
        await tx.__aenter__()
        assert await webhooks.emit(conn, tenant.id, "conversation.created", {"conversation_id": 1}) == 1
        await tx.__aexit__(RuntimeError, RuntimeError("rolled back"), None)
        cur = await conn.execute("SELECT count(*) AS n FROM outbox WHERE tenant_id = %s AND channel = 'webhook'",
                                 (tenant.id,))
        assert (await cur.fetchone())["n"] == 0


async def disable_notices(pool: AsyncConnectionPool, tenant_id: int, agent_id: int) -> list[Notification]:
    async with pool.connection() as conn:
        return [n for n in await notifications.list_for(conn, tenant_id, agent_id) if n.kind == "webhook_disabled"]


async def test_repeated_failures_disable_the_subscription(api: RunningGateway, http: aiohttp.ClientSession,
                                                          pool: AsyncConnectionPool, tenant: Tenant,
                                                          other_tenant: Tenant) -> None:
    admin = await make_token(pool, tenant.id, "admin")
    boss = await seed.agent(pool, tenant.id, "boss", role="admin")
    plain = await seed.agent(pool, tenant.id, "plain")
    elsewhere = await seed.agent(pool, other_tenant.id, "their-admin", role="admin")
    async with pool.connection() as conn:
        await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=993, imap_username="u",
                               imap_password_env="NOPE", from_address="support@acme.test", smtp_host="127.0.0.1",
                               smtp_port=25)
    rx: WebhookReceiver
    async with webhook_receiver(fail_always=True) as rx:
        sub = await subscribe(api, http, admin, rx.url, ["conversation.created", "message.created"])
        await ingest(pool, f.email(tenant.id, "ann@acme.test"))
        sender = WebhookSender(pool, disable_after=3)

        def disabled() -> bool:
            return len(rx.requests) >= 3

        await deliver_until(pool, sender, disabled)
        # Both events' attempts run concurrently, so one more may have been in flight when the third
        # failure switched the subscription off; after that, nothing is sent.
        sent = len(rx.requests)
        for _ in range(3):
            await Dispatcher(pool, {Channel.WEBHOOK: sender}).run_once()
    assert sent in (3, 4) and len(rx.requests) == sent and not rx.processed

    status, _, shown = await call(http, "GET", f"{api.url}/api/v1/webhooks/{sub['id']}", admin)
    assert status == 200 and shown["enabled"] is False and shown["consecutive_failures"] == sent
    assert shown["disabled_reason"].startswith("3 consecutive failed deliveries; last: HTTP 503")
    _, _, log = await call(http, "GET", f"{api.url}/api/v1/webhooks/{sub['id']}/deliveries", admin)
    assert {d["status"] for d in log["data"]} == {"failed"} and len(log["data"]) == 2
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT actor, details FROM audit_events WHERE tenant_id = %s"
                                 " AND action = 'webhook.disabled' AND subject_id = %s", (tenant.id, sub["id"]))
        notice = await cur.fetchall()
        assert len(notice) == 1 and notice[0]["details"]["consecutive_failures"] == 3
        assert await webhooks.emit(conn, tenant.id, "message.created", {}) == 0  # nothing queued while off

    # The notice: the tenant's admins (only they, only this tenant's) get it in the console list and by email.
    [note] = await disable_notices(pool, tenant.id, boss)
    assert note.title == f"Webhook {sub['id']} disabled: {rx.url}"
    assert "3 consecutive failed deliveries; last: HTTP 503" in note.body
    assert f"PATCH /api/v1/webhooks/{sub['id']}" in note.body
    assert await disable_notices(pool, tenant.id, plain) == []
    assert await disable_notices(pool, other_tenant.id, elsewhere) == []
    [mail] = await seed.rows(pool, "SELECT payload FROM outbox WHERE tenant_id = %s AND channel = 'email'", tenant.id)
    assert mail["payload"]["to"].startswith("boss-") and mail["payload"]["notification_id"] == note.id
    assert f"Webhook {sub['id']} disabled" in str(mail["payload"]["body"])

    status, _, back = await call(http, "PATCH", f"{api.url}/api/v1/webhooks/{sub['id']}", admin,
                                 json={"enabled": True})
    assert status == 200 and (back["enabled"], back["consecutive_failures"], back["disabled_reason"]) == (True, 0, None)
    # Failing again after being turned back on is a new disable, and a new notice.
    async with webhook_receiver(fail_always=True) as rx2:
        assert (await call(http, "PATCH", f"{api.url}/api/v1/webhooks/{sub['id']}", admin,
                           json={"url": rx2.url}))[0] == 200
        await ingest(pool, f.email(tenant.id, "bob@acme.test"))
        await deliver_until(pool, sender, lambda: len(rx2.requests) >= 3)
    notes = await disable_notices(pool, tenant.id, boss)
    assert len(notes) == 2 and notes[0].title == f"Webhook {sub['id']} disabled: {rx2.url}"


async def test_scopes_validation_and_tenant_isolation(api: RunningGateway, http: aiohttp.ClientSession,
                                                      pool: AsyncConnectionPool, tenant: Tenant,
                                                      other_tenant: Tenant) -> None:
    admin = await make_token(pool, tenant.id, "admin")
    write = await make_token(pool, tenant.id, "read,write,classify")
    theirs = await make_token(pool, other_tenant.id, "admin")
    sub = await subscribe(api, http, admin, "https://hooks.example.test/in", ["sla.breached"])
    base = f"{api.url}/api/v1/webhooks"
    routes = [("GET", base, None), ("POST", base, {"url": "https://x.test/", "events": ["sla.breached"]}),
              ("GET", f"{base}/{sub['id']}", None), ("PATCH", f"{base}/{sub['id']}", {"enabled": False}),
              ("DELETE", f"{base}/{sub['id']}", None), ("GET", f"{base}/{sub['id']}/deliveries", None)]
    for method, url, body in routes:
        assert (await call(http, method, url, None, json=body))[0] == 401, (method, url)
        status, _, err = await call(http, method, url, write, json=body)
        assert status == 403 and err["error"]["code"] == "forbidden", (method, url)
    for method, url, body in routes[2:]:
        status, _, err = await call(http, method, url, theirs, json=body)
        assert status == 404 and err["error"]["field"] == "id", (method, url)
    status, _, listed = await call(http, "GET", base, theirs)
    assert status == 200 and listed["data"] == []

    status, _, err = await call(http, "POST", base, admin, json={"url": "https://x.test/", "events": ["nope"]})
    assert status == 422 and err["error"]["field"] == "events.0"
    status, _, err = await call(http, "POST", base, admin, json={"url": "ftp://x.test/", "events": ["sla.breached"]})
    assert status == 422 and err["error"]["field"] == "url"
    status, _, gone = await call(http, "DELETE", f"{base}/{sub['id']}", admin)
    assert status == 200 and gone == {"deleted": sub["id"]}
    assert (await call(http, "GET", f"{base}/{sub['id']}", admin))[0] == 404


async def test_sla_breach_is_an_event(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    """The SLA ladder's breach rung queues ``sla.breached`` in its own transaction (seeded clock, no gateway)."""
    async with pool.connection() as conn:
        sub = await webhooks.create(conn, tenant.id, url="http://127.0.0.1:9/hook", events=["sla.breached"],
                                    created_by="test")
    owner = await seed.agent(pool, tenant.id, "owner")
    cid = await seed.conversation(pool, tenant.id, status="assigned", urgency="high", assignee_id=owner)
    ladder = SlaLadder(pool, SkillRouter(clock=lambda: seed.T0), on_event=lambda slug, kind: None)
    await ladder.tick(tenant.id, now=seed.T0 + timedelta(minutes=61))
    async with pool.connection() as conn:
        [row] = await webhooks.deliveries(conn, tenant.id, sub.id)
        cur = await conn.execute("SELECT payload FROM outbox WHERE id = %s", (row["id"],))
        event = (await cur.fetchone())["payload"]["event"]
    assert row["event_type"] == "sla.breached" and row["status"] == "pending"
    assert (event["data"]["conversation_id"], event["data"]["target"]) == (cid, "first_response")
