"""Incidents through a running gateway: real chat sockets, real SMTP delivery, real worker jobs.

Five customers report the same checkout failure on chat, email and the web form; the worker groups
them into one incident; one agent reply through the console reaches each of them on their own
channel; a later matching message gets the known-issue notice and an unrelated one does not join.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from store import mailboxes, tenants
from store.tenants import Tenant
from tests import factories as f
from tests.channels.test_chat import Visitor, session_token
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway
from tests.servers.procs import free_port
from tests.servers.smtp import SmtpServer

REPORTS = [
    "The checkout page shows error 502 when I try to pay for my order",
    "I get a 502 error on the checkout page when I try to pay",
    "Checkout fails with error 502 when paying for my order",
    "Error 502 on the checkout page, I can't pay for my order",
    "When I try to pay at checkout I see a 502 error",
]
ANSWER = "We found the cause of the checkout errors and fixed it; please try your payment again."


async def until(check: Callable[[], Any], within: float = 120, what: str = "condition") -> Any:
    """Polls an async check with a deadline; returns its first truthy value."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{what} not met in {within}s")


async def rows(pool: AsyncConnectionPool, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


async def chat_visitor(gateway: RunningGateway, tenant: Tenant) -> Visitor:
    v = Visitor()
    await v.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    return v


async def test_incident_forms_across_channels_and_one_reply_reaches_everyone(
        gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, smtp: SmtpServer) -> None:
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"incidents": {"min_reports": 5, "window_minutes": 15,
                                                                      "similarity": 0.8}})
        await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=free_port(), imap_security="none",
                               imap_username="nobody", imap_password_env="SB_TEST_NO_IMAP",
                               from_address="support@acme.test", smtp_host="127.0.0.1", smtp_port=smtp.port,
                               smtp_security="none")
    visitors = [await chat_visitor(gateway, tenant) for _ in range(2)]
    try:
        chat_convs = [(await v.call("message", {"client_id": f"r{i}", "text": REPORTS[i]}))["conversation_id"]
                      for i, v in enumerate(visitors)]
        mail = [await ingest(pool, f.email(tenant.id, f"mail{i}@customer.test", REPORTS[2 + i])) for i in range(2)]
        form = await ingest(pool, f.form(tenant.id, "form@customer.test", REPORTS[4]))
        expected = {*chat_convs, *(m.conversation_id for m in mail), form.conversation_id}
        assert len(expected) == 5

        async def formed() -> list[dict[str, Any]]:
            found = await rows(pool, "SELECT incident_id, conversation_id FROM incident_members WHERE tenant_id = %s",
                               tenant.id)
            return found if len(found) == 5 else []

        members = await until(formed, what="the incident")
        assert {m["conversation_id"] for m in members} == expected
        assert len({m["incident_id"] for m in members}) == 1
        incident_id = members[0]["incident_id"]

        await make_agent(pool, tenant, "lead@acme.test")
        agent = ConsoleClient(gateway.url)
        assert await agent.login("lead@acme.test", PASSWORD) == 303
        listed = await agent.get("/console/api/incidents?status=open")
        assert [(i["id"], i["customers"]) for i in listed["incidents"]] == [(incident_id, 5)]
        detail = await agent.get(f"/console/api/conversations/{mail[0].conversation_id}")
        assert detail["incident"]["customers"] == 5 and detail["incident"]["id"] == incident_id

        sent = await agent.post(f"/console/api/incidents/{incident_id}/reply", {"text": ANSWER})
        assert sorted(s["conversation_id"] for s in sent["sent"]) == sorted(expected) and sent["skipped"] == []
        outbox = await rows(pool, "SELECT conversation_id, channel FROM outbox WHERE tenant_id = %s"
                                  " AND payload->>'author_kind' = 'agent'", tenant.id)
        by_conv = {r["conversation_id"]: r["channel"] for r in outbox}
        assert len(outbox) == 5
        assert [by_conv[c] for c in chat_convs] == ["chat", "chat"]
        assert [by_conv[m.conversation_id] for m in mail] == ["email", "email"]
        assert by_conv[form.conversation_id] == "email"  # a web form is answered by email

        for v in visitors:  # delivered on each visitor's own socket
            await v.wait_for(lambda m: m["direction"] == "out" and m["text"] == ANSWER, within=30)

        async def mailed() -> set[str]:
            got = {r for m in smtp.messages if ANSWER in m.text() for r in m.rcpt_tos}
            return got if len(got) == 3 else set()

        assert await until(mailed, 30, "three answer emails") == {
            "mail0@customer.test", "mail1@customer.test", "form@customer.test"}

        # A new matching report while the incident is open: joins it and gets the known-issue notice.
        late = await chat_visitor(gateway, tenant)
        visitors.append(late)
        late_conv = (await late.call("message", {"client_id": "late", "text": "Checkout gives me a 502 error when I pay"})
                     )["conversation_id"]
        notice = await late.wait_for(lambda m: m["kind"] == "notice", within=120)
        assert "aware of this issue" in notice["text"]
        assert (await agent.get(f"/console/api/conversations/{late_conv}"))["incident"]["customers"] == 6

        # An unrelated message is examined (its job finishes) but joins nothing and gets no notice.
        other = await ingest(pool, f.email(tenant.id, "other@customer.test",
                                           "How do I change the email address on my account?"))

        async def examined() -> bool:
            return bool(await rows(pool, "SELECT 1 FROM incident_reports WHERE tenant_id = %s AND message_id = %s",
                                   tenant.id, other.message_id))

        await until(examined, what="the unrelated message examined")
        assert await rows(pool, "SELECT 1 FROM incident_members WHERE tenant_id = %s AND conversation_id = %s",
                          tenant.id, other.conversation_id) == []
        assert await rows(pool, "SELECT 1 FROM messages WHERE tenant_id = %s AND conversation_id = %s"
                                " AND reply_kind = 'notice' AND author_kind = 'system'",
                          tenant.id, other.conversation_id) == []
        await agent.close()
    finally:
        for v in visitors:
            await v.sio.disconnect()
