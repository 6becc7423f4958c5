"""Hostile Socket.IO chat events against a running gateway, through a real python-socketio client.

Property, for every generated event and payload (wrong types, huge, deeply nested, unicode edge
cases, bad ids): the ack is ``{"ok": true, …}`` or a clear error naming its field — never the
``internal`` code, never a hang — the gateway stays healthy, and a refused message is not stored
while an accepted one is stored exactly once. Payloads above the socket's frame limit are refused
by closing the connection; the client reconnects and the gateway carries on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest
import socketio
from hypothesis import example, given
from hypothesis import strategies as st

from channels.chat import ChatLimits
from gateway.app import SOCKET_MAX_MESSAGE_BYTES
from store.tenants import Tenant
from tests.channels.test_chat import session_token
from tests.hostile.conftest import FUZZ, AsyncRunner, Served

pytestmark = pytest.mark.timeout(150)

LIMITS = ChatLimits()
EDGE_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfff", "\u202e\u2066evil", "\ufeff", "e\u0301", "\U0010ffff", "𝕏" * 50,
             "\u0000" * 3, " \t\n", "", "null", "{}", "<script>alert(1)</script>", "'; DROP TABLE messages; --"]
EVENTS = ["message", "history", "resume", "typing", "read", "action", "email", "connect", "disconnect", "nope",
          "__proto__", "x" * 300]
CODES = {"invalid", "too_long", "not_found", "rate_limited", "unknown_event", "no_conversation", "unavailable"}

json_leaf = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | \
    st.floats(allow_nan=False) | st.text(max_size=30) | st.sampled_from(EDGE_TEXT)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) |
                          st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=30)
bad_int = st.one_of(st.integers(min_value=-2**70, max_value=2**70), st.text(max_size=12), st.floats(), st.booleans(),
                    st.lists(st.integers(), max_size=2), st.none())
text = st.one_of(st.text(max_size=200), st.sampled_from(EDGE_TEXT),
                 st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "𝕏", "\u200b"]),
                           st.sampled_from([LIMITS.max_text_chars, LIMITS.max_text_chars + 1, 10_000])),
                 json_value)
message = st.fixed_dictionaries({"client_id": st.one_of(st.uuids().map(str), st.sampled_from(EDGE_TEXT),
                                                        st.text(min_size=90, max_size=120), json_leaf),
                                 "text": text},
                                optional={"conversation_id": bad_int, "extra": json_value})
other = st.fixed_dictionaries({}, optional={"conversation_id": bad_int, "last_seq": bad_int, "seq": bad_int,
                                            "typing": json_leaf, "action_id": st.text(max_size=50) | json_leaf,
                                            "email": st.sampled_from(["a@b.co", "x@y", "é@é.é"]) | text})


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"a": [value]}
    return value


good_message = st.fixed_dictionaries({"client_id": st.uuids().map(str), "text": st.text(min_size=1, max_size=300)})
payload = st.one_of(
    st.tuples(st.just("message"), good_message),
    st.tuples(st.just("message"), message),
    st.tuples(st.sampled_from(EVENTS), other),
    st.tuples(st.sampled_from(EVENTS), json_value),
    st.tuples(st.sampled_from(EVENTS), st.sampled_from([nested(50), nested(400), [nested(20)] * 3])),
)


class Probe:
    """One visitor's connection, reopened when the server drops it (oversized frames)."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.sio: socketio.AsyncClient | None = None

    async def call(self, event: str, data: Any) -> dict[str, Any] | None:
        """The ack, or None when the server closed the connection instead of answering."""
        if self.sio is None or not self.sio.connected:
            if self.sio is not None:
                await self.sio.disconnect()
            self.sio = socketio.AsyncClient(reconnection=False)
            await self.sio.connect(self.url, namespaces=["/chat"], auth={"token": self.token},
                                   transports=["websocket"], wait_timeout=10)
        while True:
            try:
                ack = await self.sio.call(event, data, namespace="/chat", timeout=10)
            except (socketio.exceptions.DisconnectedError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.TimeoutError):
                await self.sio.disconnect()  # the next call starts on a fresh connection
                return None
            if isinstance(ack, dict) and ack.get("error", {}).get("code") == "rate_limited":
                await asyncio.sleep(0.3)  # the client's backoff; the refusal itself is what we check
                continue
            return ack

    async def reset(self) -> None:
        """Waits out the server's close of the connection an oversized frame caused, then drops it."""
        if self.sio is not None:
            await self.sio.disconnect()
            self.sio = None

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()


def _stored(dsn: str, visitor_id: str, client_id: Any) -> int:
    if not isinstance(client_id, str) or "\x00" in client_id:
        return 0
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM messages WHERE channel = 'chat' AND external_id = %s",
                           (f"{visitor_id}:{client_id}".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),)
                           ).fetchone()
    return int(row[0]) if row else 0


def _size(data: Any) -> int:
    import json
    return len(json.dumps(data).encode())


def test_hostile_chat_events_get_clear_errors_and_never_half_store(
        served: Served, tenant: Tenant, dsn: str, runner: AsyncRunner) -> None:
    tok = runner.run(session_token(served.url, tenant.slug))
    probe = Probe(served.url, tok["token"])
    seen: dict[str, int] = {"ok": 0, "refused": 0, "dropped": 0}
    accepted: set[str] = set()  # client ids stored so far (generated ids can repeat across examples)

    @FUZZ
    @given(payload)
    @example(("message", {"client_id": "plain-1", "text": "Hello, my order is late"}))
    @example(("history", {}))
    @example(("connect", {"token": tok["token"]}))  # reserved names, sent as ordinary events
    @example(("disconnect", {}))
    @example(("message", {"client_id": "nul-1", "text": "a\x00b"}))
    @example(("message", {"client_id": "surrogate-1", "text": "\ud800 alone"}))
    @example(("message", {"client_id": "nul-\x00", "text": "client id with NUL"}))
    @example(("message", {"client_id": "huge-1", "text": "x" * (SOCKET_MAX_MESSAGE_BYTES + 10)}))
    @example(("resume", {"conversation_id": 2**62, "last_seq": 0}))
    def check(case: tuple[str, Any]) -> None:
        event, data = case
        started = time.monotonic()
        ack = runner.run(probe.call(event, data))
        assert time.monotonic() - started < 15
        if _size(data) > SOCKET_MAX_MESSAGE_BYTES:  # refused by closing the connection, never read
            assert ack is None, ack
            seen["dropped"] += 1
            runner.run(probe.reset())
        elif ack is None:
            raise AssertionError(f"no answer to {event} {str(data)[:200]}")
        elif ack.get("ok"):
            seen["ok"] += 1
            if event == "message":
                assert _stored(dsn, tok["visitor_id"], data["client_id"]) == 1
                accepted.add(data["client_id"])
        else:
            seen["refused"] += 1
            err = ack.get("error") or {}
            assert err.get("code") in CODES and "field" in err and err.get("message"), ack
            if event == "message" and isinstance(data, dict):  # refused: not stored (beyond an earlier accept)
                earlier = isinstance(data.get("client_id"), str) and data["client_id"] in accepted
                assert _stored(dsn, tok["visitor_id"], data.get("client_id")) == int(earlier), ack
        assert served.proc.poll() is None

    try:
        check()
    finally:
        runner.run(probe.close())
    assert served.healthy()
    assert seen["ok"] and seen["refused"], seen
