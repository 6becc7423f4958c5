"""PostgreSQL stopped and started again under chat load: the gateway recovers by itself, loses nothing.

The test runs its own embedded PostgreSQL (pgvector, same as the per-run server) so that stopping it
disturbs no other test. A ``switchboard serve`` process with its workers holds the chat sockets;
customers (tests/faults/chat_load.py) keep sending through the outage, retrying whatever the
gateway refuses or leaves unanswered under the same client id. While the database is down
``/readyz`` answers 503 with the reason and ``/healthz`` stays 200 (the process is alive, only not
ready); after the restart ``/readyz`` is 200 again without anyone touching the gateway, and every
message is stored once and every reply reaches its customer once.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import db, tenants
from store.embedded import EmbeddedPostgres
from tests.channels.test_chat import session_token
from tests.faults.chat_load import Customer, busy, check_exactly_once
from tests.servers.procs import free_port, http_get, http_ok, start, stop, wait_until

pytestmark = pytest.mark.timeout(240)  # real processes; generous for a loaded 2-core machine
CUSTOMERS = int(os.environ.get("SWITCHBOARD_FAULT_CUSTOMERS", "3"))
MESSAGES = int(os.environ.get("SWITCHBOARD_FAULT_MESSAGES", "9"))
OUTAGE_SECONDS = 3.0  # how long the database stays down while customers keep sending
DEADLINE_SECONDS = 75


@pytest.fixture
def private_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pgr"))  # short path: the socket lives in it
    try:
        yield server
    finally:
        server.stop()


async def _tenant_slug(dsn: str) -> str:
    await db.migrate(dsn)
    pool = await db.open_pool(dsn, max_size=1)
    try:
        async with pool.connection() as conn:
            return (await tenants.create(conn, "pgrestart", "PG Restart Inc")).slug
    finally:
        await pool.close()


def _readyz(url: str) -> tuple[int, dict[str, object]]:
    try:
        status, body = http_get(f"{url}/readyz", timeout=5)
    except OSError:
        return 0, {}
    return status, json.loads(body or b"{}")


async def test_postgres_restarted_during_chat_load_gateway_recovers_and_loses_nothing(
        private_pg: EmbeddedPostgres, tmp_path: Path) -> None:
    dsn = await asyncio.to_thread(private_pg.start)
    slug = await _tenant_slug(dsn)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = start(["serve", "--port", str(port)], cwd=tmp_path, log=tmp_path / "serve.log", DATABASE_URL=dsn,
                    SWITCHBOARD_SECRET_KEY=secrets.token_urlsafe(48), SWITCHBOARD_DATA_DIR=str(tmp_path / "data"),
                    SWITCHBOARD_METRICS_STORE_KPIS="false")
    customers: list[Customer] = []
    try:
        await asyncio.to_thread(wait_until, lambda: http_ok(f"{url}/readyz") or gateway.poll() is not None,
                                timeout=30, what="the gateway's /readyz")
        assert gateway.poll() is None, (tmp_path / "serve.log").read_text()
        deadline = time.monotonic() + DEADLINE_SECONDS
        for k in range(CUSTOMERS):
            tok = await session_token(url, slug)
            customers.append(Customer(url, tok["token"], tok["visitor_id"], f"c{k}", MESSAGES, deadline))
        sending = [asyncio.create_task(c.send_all()) for c in customers]
        total = CUSTOMERS * MESSAGES
        while sum(len(c.acks) for c in customers) < total // 3:
            assert time.monotonic() < deadline and not any(t.done() for t in sending), "load did not get going"
            await asyncio.sleep(0.01)

        await asyncio.to_thread(private_pg.stop)
        acked_at_stop = sum(len(c.acks) for c in customers)
        status, body = await asyncio.to_thread(_readyz, url)
        assert status == 503 and body["status"] == "degraded" and str(body["database"]).startswith("unreachable"), body
        assert http_get(f"{url}/healthz")[0] == 200
        outage_end = time.monotonic() + OUTAGE_SECONDS
        while time.monotonic() < outage_end:  # customers keep sending into the outage meanwhile
            assert gateway.poll() is None and not any(t.done() and t.exception() for t in sending)
            await asyncio.sleep(0.1)
        assert _readyz(url)[0] == 503
        acked_during_outage = sum(len(c.acks) for c in customers) - acked_at_stop

        assert await asyncio.to_thread(private_pg.start) == dsn  # same socket, same DATABASE_URL
        await asyncio.to_thread(wait_until, lambda: _readyz(url)[0] == 200, timeout=30,
                                what="/readyz to say ready again without a restart")
        await asyncio.gather(*sending)
        await asyncio.to_thread(wait_until, lambda: busy(dsn) == 0, timeout=max(1.0, deadline - time.monotonic()),
                                what="agent runs and chat deliveries to finish")
        numbers = await check_exactly_once(dsn, customers)
        assert acked_at_stop < total and acked_during_outage == 0, (acked_at_stop, acked_during_outage)
        print("\npostgres-restart: " + json.dumps({**numbers, "acked_at_stop": acked_at_stop}, sort_keys=True))
    finally:
        for c in customers:
            await c.close()
        code = stop(gateway)
    assert code == 0, (tmp_path / "serve.log").read_text()[-4000:]
