"""Web chat with a real python Socket.IO client against a running gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio
from itsdangerous import TimestampSigner
from psycopg_pool import AsyncConnectionPool

from gateway.app import services
from gateway.replies import send_reply
from store.models import AuthorKind, Reply, ReplyKind, Source
from store.tenants import Tenant
from tests.servers.gateway import RunningGateway


async def session_token(url: str, slug: str, old: str | None = None) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/chat/{slug}/session", json={"token": old} if old else {}) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()


async def poll_until(check: Any, within: float = 10) -> None:
    """Polls with a deadline (never a bare sleep as synchronization)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


class Visitor:
    """A chat client that records every pushed message."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pushed: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.sio.on("message", self.pushed.append, namespace="/chat")
        self.sio.on("error", self.errors.append, namespace="/chat")

    async def connect(self, url: str, token: str) -> None:
        await self.sio.connect(url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"],
                               wait_timeout=10)

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        return await self.sio.call(event, data, namespace="/chat", timeout=10)

    async def wait_for(self, predicate: Any, within: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for m in self.pushed:
                if predicate(m):
                    return m
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no pushed message matched; got {self.pushed}")


@pytest.fixture
async def visitor(gateway: RunningGateway, tenant: Tenant) -> AsyncIterator[tuple[Visitor, dict[str, Any]]]:
    tok = await session_token(gateway.url, tenant.slug)
    v = Visitor()
    await v.connect(gateway.url, tok["token"])
    yield v, tok
    await v.sio.disconnect()


async def test_unknown_tenant_gets_404(gateway: RunningGateway) -> None:
    async with aiohttp.ClientSession() as http, http.post(f"{gateway.url}/chat/no-such-tenant/session") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["field"] == "tenant"


@pytest.mark.parametrize("auth,reason", [(None, "missing token"), ({"token": "forged.token.value"}, "invalid token")])
async def test_connect_refused_without_a_valid_token(gateway: RunningGateway, auth: Any, reason: str) -> None:
    assert await refusal(gateway.url, auth) == reason


async def refusal(url: str, auth: Any) -> str:
    """The reason the server gave for refusing a connection (the client's connect_error event)."""
    client = socketio.AsyncClient(reconnection=False)
    reasons: list[Any] = []
    client.on("connect_error", reasons.append, namespace="/chat")
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, namespaces=["/chat"], auth=auth, transports=["websocket"], wait_timeout=5)
    finally:
        await client.disconnect()  # also closes the engine.io socket under the refused namespace
    assert reasons, "refused without a reason"
    return reasons[0]["message"] if isinstance(reasons[0], dict) else str(reasons[0])


async def test_connect_refused_with_an_expired_token(gateway: RunningGateway, tenant: Tenant,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    chat = services(gateway.app)["chat"]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 30 * 86400)
    old = chat.tokens.issue(tenant.id, "ghost")
    monkeypatch.undo()
    assert await refusal(gateway.url, {"token": old}) == "expired token"


async def test_message_is_idempotent_by_client_id(visitor: tuple[Visitor, dict[str, Any]]) -> None:
    v, _ = visitor
    first = await v.call("message", {"client_id": "c-1", "text": "My invoice is wrong"})
    assert first["ok"] and first["seq"] == 1 and first["message_id"] > 0
    again = await v.call("message", {"client_id": "c-1", "text": "My invoice is wrong"})
    assert again["message_id"] == first["message_id"] and again["duplicate"]
    second = await v.call("message", {"client_id": "c-2", "text": "Also, hello"})
    assert second["conversation_id"] == first["conversation_id"] and second["seq"] == 2


@pytest.mark.parametrize("event,data,field", [
    ("message", {"client_id": "x"}, "text"),
    ("message", {"text": "hi"}, "client_id"),
    ("message", {"client_id": "x", "text": "a" * 5000}, "text"),
    ("message", {"client_id": 5, "text": "hi"}, "client_id"),
    ("message", ["not", "an", "object"], "data"),
    ("message", {"client_id": "x", "text": "hi", "conversation_id": "seven"}, "conversation_id"),
    ("resume", {"conversation_id": 1}, "last_seq"),
    ("teleport", {}, "event"),
    ("action", {"conversation_id": 1, "action_id": "rm -rf"}, "action_id"),
])
async def test_malformed_events_get_an_error_naming_the_field(
    visitor: tuple[Visitor, dict[str, Any]], event: str, data: Any, field: str
) -> None:
    v, _ = visitor
    ack = await v.call(event, data)
    assert ack["ok"] is False and ack["error"]["field"] == field
    await poll_until(lambda: bool(v.errors), within=5)
    assert v.errors[-1]["field"] == field
    # The connection survives bad input.
    ok = await v.call("message", {"client_id": "after-error", "text": "still here"})
    assert ok["ok"]


async def test_reply_is_pushed_and_a_dropped_connection_replays_exactly_what_it_missed(
    gateway: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant
) -> None:
    tok = await session_token(gateway.url, tenant.slug)
    v = Visitor()
    await v.connect(gateway.url, tok["token"])
    ack = await v.call("message", {"client_id": "q1", "text": "How do I reset my password?"})
    conv = ack["conversation_id"]

    async def agent_says(text: str) -> int:
        async with pool.connection() as conn, conn.transaction():
            msg = await send_reply(conn, tenant.id, conv, Reply(ReplyKind.ANSWER, text, sources=(
                Source("kb:1#0", "Password reset", "Use the reset link", 0.9, "https://help.test/reset"),)),
                author_kind=AuthorKind.AGENT, answers_message_id=ack["message_id"])
            return msg.seq

    seq = await agent_says("Use the **reset link** on the login page.")
    pushed = await v.wait_for(lambda m: m["seq"] == seq)
    assert pushed["kind"] == "answer" and pushed["sources"][0]["title"] == "Password reset"
    assert "<strong>reset link</strong>" in pushed["parts"][0]["html"]
    await v.sio.disconnect()

    missed = [await agent_says(f"offline reply {i}") for i in range(3)]
    v2 = Visitor()
    await v2.connect(gateway.url, (await session_token(gateway.url, tenant.slug, tok["token"]))["token"])
    replay = await v2.call("resume", {"conversation_id": conv, "last_seq": seq})
    assert [m["seq"] for m in replay["messages"]] == missed
    assert [m["text"] for m in replay["messages"]] == [f"offline reply {i}" for i in range(3)]
    history = await v2.call("history", {})
    assert history["conversations"][0]["id"] == conv
    await v2.sio.disconnect()


async def test_visitors_cannot_reach_other_visitors_conversations(
    gateway: RunningGateway, tenant: Tenant, other_tenant: Tenant
) -> None:
    a, b, c = Visitor(), Visitor(), Visitor()
    await a.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    await b.connect(gateway.url, (await session_token(gateway.url, tenant.slug))["token"])
    await c.connect(gateway.url, (await session_token(gateway.url, other_tenant.slug))["token"])
    ack = await a.call("message", {"client_id": "a1", "text": "private SECRET-A"})
    for intruder in (b, c):
        r = await intruder.call("resume", {"conversation_id": ack["conversation_id"], "last_seq": 0})
        assert r["ok"] is False and r["error"]["code"] == "not_found"
        # Naming another conversation when sending starts the intruder's own instead.
        own = await intruder.call("message", {"client_id": "x", "text": "hi", "conversation_id": ack["conversation_id"]})
        assert own["ok"] and own["conversation_id"] != ack["conversation_id"]
        assert (await intruder.call("history", {}))["conversations"][0]["messages"][0]["text"] == "hi"
    for cl in (a, b, c):
        await cl.sio.disconnect()


async def test_message_rate_is_limited_per_connection(visitor: tuple[Visitor, dict[str, Any]]) -> None:
    v, _ = visitor
    acks = await asyncio.gather(*(v.call("message", {"client_id": f"r{i}", "text": "spam"}) for i in range(25)))
    limited = [a for a in acks if not a["ok"]]
    assert limited and all(a["error"]["code"] == "rate_limited" for a in limited)
    assert sum(a["ok"] for a in acks) <= 12


async def test_a_second_tab_gets_the_message_exactly_as_history_shows_it(
    gateway: RunningGateway, tenant: Tenant
) -> None:
    """The echo to the visitor's other tabs is built from the ingest result, not read back: it must not drift."""
    tok = await session_token(gateway.url, tenant.slug)
    sender, other = Visitor(), Visitor()
    await sender.connect(gateway.url, tok["token"])
    await other.connect(gateway.url, tok["token"])
    try:
        ack = await sender.call("message", {"client_id": "tab-1", "text": "Hello from the first tab <b>"})
        pushed = await other.wait_for(lambda m: m["id"] == ack["message_id"])
        replay = await other.call("resume", {"conversation_id": ack["conversation_id"], "last_seq": ack["seq"] - 1})
        assert pushed == replay["messages"][0]
        assert pushed["direction"] == "in" and pushed["author"] == "customer" and pushed["seq"] == ack["seq"]
        assert not [m for m in sender.pushed if m["id"] == ack["message_id"]]  # not echoed to the sending tab
    finally:
        await sender.sio.disconnect()
        await other.sio.disconnect()
