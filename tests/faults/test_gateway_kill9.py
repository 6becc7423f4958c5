"""``kill -9`` a gateway while several chat customers talk through it, restart it: exactly once.

The deployment shape of deploy/: a ``switchboard serve`` process holds the sockets (no workers) and a
``switchboard worker`` runs agent runs and dispatch, reaching the sockets through a private Redis.
Customers are real Socket.IO clients (tests/faults/chat_load.py) that reconnect and resend the same
client id when the gateway vanishes mid-ack. Checked at the clients and in the store: every message
stored once, every ack carrying the first stored id, every reply seen by its customer (live or by
``resume``) and pushed live at most once.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg_pool import AsyncConnectionPool

from gateway.replies import send_reply
from store.models import AuthorKind, Reply, ReplyKind
from store.tenants import Tenant
from tests.channels.test_chat import session_token
from tests.faults.chat_load import Customer, busy, check_exactly_once
from tests.servers.procs import free_port, http_ok, start, stop, wait_until
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.timeout(240)  # real processes; generous for a loaded 2-core machine
CUSTOMERS = int(os.environ.get("SWITCHBOARD_FAULT_CUSTOMERS", "4"))
MESSAGES = int(os.environ.get("SWITCHBOARD_FAULT_MESSAGES", "12"))
READY_SECONDS = 30
DEADLINE_SECONDS = 70  # from the first message to the last check


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _agent_answers_everyone(pool: AsyncConnectionPool, tenant: Tenant, customers: list[Customer],
                                  text: str) -> None:
    for c in customers:
        assert c.conversation_id is not None
        async with pool.connection() as conn, conn.transaction():
            await send_reply(conn, tenant.id, c.conversation_id, Reply(ReplyKind.ANSWER, text),
                             author_kind=AuthorKind.AGENT)


def _serve(tmp: Path, port: int, env: dict[str, str], n: int) -> subprocess.Popen[bytes]:
    proc = start(["serve", "--port", str(port)], cwd=tmp, log=tmp / f"serve-{n}.log", **env)
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz") or proc.poll() is not None,
               timeout=READY_SECONDS, what="the gateway's /readyz")
    assert proc.poll() is None, (tmp / f"serve-{n}.log").read_text()
    return proc


async def test_gateway_killed_during_chat_load_loses_and_duplicates_nothing(
        dsn: str, pool: AsyncConnectionPool, tenant: Tenant, redis: RedisServer, tmp_path: Path) -> None:
    port = free_port()
    env = {"DATABASE_URL": dsn, "REDIS_URL": redis.url, "SWITCHBOARD_SECRET_KEY": secrets.token_urlsafe(48),
           "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"), "SWITCHBOARD_METRICS_STORE_KPIS": "false"}
    worker = start(["worker"], cwd=tmp_path, log=tmp_path / "worker.log", **env)
    gateway = await asyncio.to_thread(_serve, tmp_path, port, {**env, "SWITCHBOARD_RUN_WORKERS": "false"}, 1)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + DEADLINE_SECONDS
    customers = []
    for k in range(CUSTOMERS):
        tok = await session_token(url, tenant.slug)
        customers.append(Customer(url, tok["token"], tok["visitor_id"], f"c{k}", MESSAGES, deadline))
    try:
        sending = [asyncio.create_task(c.send_all()) for c in customers]
        total = CUSTOMERS * MESSAGES
        # Mid-load: a third of the messages acked, the rest still to come.
        while sum(len(c.acks) for c in customers) < total // 3:
            assert time.monotonic() < deadline and not any(t.done() for t in sending), "load did not get going"
            await asyncio.sleep(0.01)
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait(10)
        acked_at_kill = sum(len(c.acks) for c in customers)
        # An agent answers every customer while their gateway is dead: the worker pushes into Redis to
        # nobody and marks the delivery sent (python-socketio reports no failure), so only ``resume``
        # can bring these to the client. They must arrive, once.
        await _agent_answers_everyone(pool, tenant, customers, "Agent here, while you were away.")
        await asyncio.to_thread(wait_until, lambda: busy(dsn) == 0, timeout=max(1.0, deadline - time.monotonic()),
                                what="the worker to dispatch the answers written while the gateway was dead")
        gateway = await asyncio.to_thread(_serve, tmp_path, port, {**env, "SWITCHBOARD_RUN_WORKERS": "false"}, 2)
        await asyncio.gather(*sending)
        # After the restart live pushes work again: through Redis, from the worker, to the new sockets.
        await _agent_answers_everyone(pool, tenant, customers, "Agent here, live again.")
        while not all(any(m.get("text") == "Agent here, live again." for m in c.pushed) for c in customers):
            assert time.monotonic() < deadline, "a reply written after the restart was not pushed live"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(wait_until, lambda: busy(dsn) == 0, timeout=max(1.0, deadline - time.monotonic()),
                                what="agent runs and chat deliveries to finish")
        numbers = await check_exactly_once(dsn, customers)
        assert acked_at_kill < total and numbers["reconnects"] >= CUSTOMERS  # the kill did land mid-load
        assert numbers["replies_recovered_by_resume"] >= CUSTOMERS
        print("\ngateway-kill9: " + json.dumps({**numbers, "acked_at_kill": acked_at_kill}, sort_keys=True))
    finally:
        for c in customers:
            await c.close()
        codes = [stop(p) for p in (gateway, worker)]
    assert codes == [0, 0], (tmp_path / "serve-2.log").read_text()[-3000:] + (tmp_path / "worker.log").read_text()[-3000:]
