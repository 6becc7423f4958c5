"""The real commands: the demo on the embedded database, and serve on an external DATABASE_URL."""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers.procs import free_port, http_get, http_ok, start, stop, wait_until


def test_demo_answers_readyz_on_the_embedded_database(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    proc = start(["demo", "--port", str(port)], cwd=tmp_path, log=log)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz") or proc.poll() is not None,
                   timeout=120, what="demo /readyz")
        status, body = http_get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, log.read_text()
        assert json.loads(body)["status"] == "ready"
        assert (tmp_path / ".switchboard" / "pg" / "PG_VERSION").exists()
    finally:
        assert stop(proc) == 0, log.read_text()
    # A second start reuses the data directory (the demo tenant is not seeded twice).
    proc = start(["demo", "--port", str(port)], cwd=tmp_path, log=tmp_path / "demo2.log")
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz") or proc.poll() is not None,
                   timeout=120, what="second demo /readyz")
        assert http_ok(f"http://127.0.0.1:{port}/readyz"), (tmp_path / "demo2.log").read_text()
    finally:
        assert stop(proc) == 0


def test_serve_uses_an_external_database_url(dsn: str, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    proc = start(["serve", "--port", str(port)], cwd=tmp_path, log=log, DATABASE_URL=dsn)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/readyz") or proc.poll() is not None,
                   timeout=60, what="serve /readyz")
        status, body = http_get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, log.read_text()
        assert not (tmp_path / ".switchboard" / "pg").exists()  # no embedded server was started
        status, body = http_get(f"http://127.0.0.1:{port}/nope")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    finally:
        assert stop(proc) == 0, log.read_text()


def test_worker_process_runs_agent_jobs_queued_by_another_process(dsn: str, tmp_path: Path) -> None:
    import asyncio

    import psycopg

    from gateway.ingest import ingest
    from store import db, tenants
    from tests import factories as f

    async def enqueue() -> int:
        pool = await db.open_pool(dsn, max_size=2)
        try:
            async with pool.connection() as conn:
                t = await tenants.create(conn, "worker-test", "Worker Test")
            return (await ingest(pool, f.email(t.id, "w@example.com", "I want to talk to a human"))).conversation_id
        finally:
            await pool.close()

    conversation_id = asyncio.run(enqueue())
    log = tmp_path / "worker.log"
    proc = start(["worker"], cwd=tmp_path, log=log, DATABASE_URL=dsn)

    def ai_replied() -> bool:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM messages WHERE conversation_id = %s AND author_kind IN"
                               " ('ai', 'system') AND direction = 'out'", (conversation_id,)).fetchone()
        return bool(row and row[0] > 0) or proc.poll() is not None

    try:
        wait_until(ai_replied, timeout=120, what="the worker's agent run")
        assert proc.poll() is None, log.read_text()
        with psycopg.connect(dsn) as conn:
            status = conn.execute("SELECT status FROM conversations WHERE id = %s", (conversation_id,)).fetchone()
        assert status and status[0] in ("pending_agent", "assigned"), status  # a request for a person: handoff
    finally:
        assert stop(proc) == 0, log.read_text()
