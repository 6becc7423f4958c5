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
