"""Hostile-input fixtures: a real ``switchboard serve`` process to throw payloads at, and fuzz settings.

Hypothesis drives synchronous test functions; async clients run on one event loop in a background
thread (``AsyncRunner``), so one connection can be reused across examples. Example counts are small
and the seed fixed by default; ``SWITCHBOARD_FUZZ_EXAMPLES`` raises the count for a longer hunt.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.servers.procs import free_port, http_ok, start, stop, wait_until

T = TypeVar("T")
FUZZ = settings(max_examples=int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "40")), derandomize=True,
                deadline=None, database=None, print_blob=True,
                phases=(Phase.explicit, Phase.generate),  # no shrinking: a hang would shrink for minutes
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


class AsyncRunner:
    """An event loop in a thread: ``run(coro)`` from synchronous hypothesis tests, with a deadline."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class Served:
    url: str
    log: Path
    proc: Any

    def healthy(self) -> bool:
        return self.proc.poll() is None and http_ok(f"{self.url}/healthz") and http_ok(f"{self.url}/readyz")


@pytest.fixture
def runner() -> Iterator[AsyncRunner]:
    r = AsyncRunner()
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def served(dsn: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The gateway as its own process (no workers: only what the edge does with input is under test)."""
    port = free_port()
    extra: dict[str, str] = getattr(request, "param", {})
    log = tmp_path / "serve.log"
    proc = start(["serve", "--port", str(port)], cwd=tmp_path, log=log, DATABASE_URL=dsn,
                 SWITCHBOARD_SECRET_KEY=secrets.token_urlsafe(48), SWITCHBOARD_DATA_DIR=str(tmp_path / "data"),
                 SWITCHBOARD_RUN_WORKERS="false", SWITCHBOARD_METRICS_STORE_KPIS="false", **extra)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/readyz") or proc.poll() is not None, timeout=60, what="gateway /readyz")
        assert proc.poll() is None, log.read_text()
        yield Served(url, log, proc)
    finally:
        code = stop(proc)
    text = log.read_text(errors="replace")
    assert code == 0, text[-3000:]
    assert '"level": "ERROR"' not in text, text[-3000:]  # hostile input is never an unhandled error
