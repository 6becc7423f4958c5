"""Chat customers that keep going through faults, and the exactly-once count over them and the store.

A ``Customer`` is a real python-socketio client that sends numbered messages with client ids. When
the gateway dies, refuses (rate limit, database down) or leaves an ack unanswered, it reconnects
and sends the same client id again — the retry the widget makes — so every message must end up
stored once. ``check_exactly_once`` then compares what the clients saw with what the store holds.
Every wait has a deadline; a pause between retries is the client's backoff, not synchronization.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
import socketio

from gateway.ingest import AGENT_RUN

RETRY_PAUSE_SECONDS = 0.25


@dataclass
class Customer:
    url: str
    token: str
    visitor_id: str
    name: str
    count: int
    deadline: float  # time.monotonic() by which every message must be in
    pushed: list[dict[str, Any]] = field(default_factory=list)  # every live push, across reconnects
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # client id → the ok ack
    refusals: Counter[str] = field(default_factory=Counter)  # error code → times the gateway said no
    reconnects: int = 0
    conversation_id: int | None = None
    sio: socketio.AsyncClient | None = None

    def client_ids(self) -> list[str]:
        return [f"{self.name}-{k}" for k in range(self.count)]

    async def _connected(self) -> socketio.AsyncClient:
        while self.sio is None or not self.sio.connected:
            dropped = self.sio is not None
            if self.sio is not None:
                await self.sio.disconnect()
            self._check_deadline("reconnect")
            sio = socketio.AsyncClient(reconnection=False)
            sio.on("message", self.pushed.append, namespace="/chat")
            try:
                await sio.connect(self.url, namespaces=["/chat"], auth={"token": self.token},
                                  transports=["websocket"], wait_timeout=5)
                self.sio = sio
                self.reconnects += dropped
            except (socketio.exceptions.ConnectionError, OSError):
                await sio.disconnect()
                self.refusals["connect_failed"] += 1
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
        return self.sio

    def _check_deadline(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"{self.name}: {what} past the deadline; acks {len(self.acks)}/{self.count}, "
                               f"refusals {dict(self.refusals)}")

    async def send_all(self, progress: asyncio.Event | None = None) -> None:
        for client_id in self.client_ids():
            await self.send(client_id)
            if progress is not None:
                progress.set()

    async def send(self, client_id: str) -> dict[str, Any]:
        while True:
            self._check_deadline(f"message {client_id}")
            sio = await self._connected()
            data: dict[str, Any] = {"client_id": client_id, "text": f"Message {client_id}: where is my order?"}
            if self.conversation_id is not None:
                data["conversation_id"] = self.conversation_id
            try:
                ack = await sio.call("message", data, namespace="/chat", timeout=5)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.DisconnectedError):
                self.refusals["no_ack"] += 1
                continue
            if ack.get("ok"):
                self.acks[client_id] = ack
                self.conversation_id = ack["conversation_id"]
                return ack
            self.refusals[ack["error"]["code"]] += 1  # rate_limited / internal: retry the same client id
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def catch_up(self) -> list[dict[str, Any]]:
        """What ``resume`` from the start returns: the visitor's whole visible thread."""
        assert self.conversation_id is not None
        while True:
            self._check_deadline("resume")
            sio = await self._connected()
            try:
                got = await sio.call("resume", {"conversation_id": self.conversation_id, "last_seq": 0},
                                     namespace="/chat", timeout=5)
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                    socketio.exceptions.DisconnectedError):
                continue
            if got.get("ok"):
                return list(got["messages"])
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()


def busy(dsn: str) -> int:
    """Agent runs not yet finished plus chat deliveries not yet sent: zero once the desk is quiet."""
    with psycopg.connect(dsn) as conn:
        jobs = conn.execute("SELECT count(*) FROM jobs WHERE kind = %s AND status IN ('pending', 'running')",
                            (AGENT_RUN,)).fetchone()
        rows = conn.execute("SELECT count(*) FROM outbox WHERE channel = 'chat' AND status = 'pending'").fetchone()
    return int(jobs[0] if jobs else 0) + int(rows[0] if rows else 0)


async def check_exactly_once(dsn: str, customers: list[Customer]) -> dict[str, Any]:
    """Asserts nothing lost or duplicated, inbound and outbound; returns the counts for the report."""
    with psycopg.connect(dsn) as conn:
        inbound = conn.execute("SELECT external_id, conversation_id, id FROM messages"
                               " WHERE channel = 'chat' AND direction = 'in'").fetchall()
        outbound = conn.execute("SELECT id, conversation_id FROM messages WHERE channel = 'chat'"
                                " AND direction = 'out' AND (reply_kind IS NULL OR reply_kind <> 'suggestion')"
                                " AND deleted_at IS NULL").fetchall()
        deliveries = conn.execute("SELECT message_id, status FROM outbox WHERE channel = 'chat'").fetchall()
    expected = {f"{c.visitor_id}:{cid}" for c in customers for cid in c.client_ids()}
    stored = Counter(str(r[0]) for r in inbound)
    assert set(stored) == expected, (expected - set(stored), set(stored) - expected)  # none lost, none foreign
    assert max(stored.values()) == 1, stored.most_common(3)  # none stored twice
    by_external = {str(r[0]): int(r[2]) for r in inbound}
    pushed_twice = 0
    resumed_only = 0
    for c in customers:
        assert sorted(c.acks) == sorted(c.client_ids()), c.name
        for cid, ack in c.acks.items():  # a retried message is acked with the id it was first stored under
            assert ack["message_id"] == by_external[f"{c.visitor_id}:{cid}"], (cid, ack)
        thread = await c.catch_up()
        replies = {int(r[0]) for r in outbound if int(r[1]) == c.conversation_id}
        pushes = Counter(m["id"] for m in c.pushed if m.get("direction") == "out")
        pushed_twice += sum(1 for n in pushes.values() if n > 1)
        seen = set(pushes) | {m["id"] for m in thread if m["direction"] == "out"}
        assert seen == replies, (c.name, replies - seen, seen - replies)  # every reply reaches the client
        resumed_only += len(replies - set(pushes))
    sent = Counter(int(r[0]) for r in deliveries)
    assert {str(r[1]) for r in deliveries} <= {"sent"}, Counter(str(r[1]) for r in deliveries)
    assert not sent or max(sent.values()) == 1, sent.most_common(3)  # one delivery per reply
    assert pushed_twice == 0
    return {"customers": len(customers), "inbound": len(inbound), "replies": len(outbound),
            "replies_recovered_by_resume": resumed_only,
            "refusals_retried": dict(sum((c.refusals for c in customers), Counter())),
            "reconnects": sum(c.reconnects for c in customers)}
