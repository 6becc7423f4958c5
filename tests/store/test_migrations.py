"""Migrations: idempotent, safe from two processes at once, and clear when the server cannot do it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from store import db
from tests.servers import postgres15
from tests.servers.procs import REPO, SWITCHBOARD, env


async def test_migrate_twice_applies_once(empty_dsn: str) -> None:
    first = await db.migrate(empty_dsn)
    assert first and first[0].startswith("001_")
    assert await db.migrate(empty_dsn) == []


def test_two_processes_migrating_at_once_apply_each_file_once(empty_dsn: str, tmp_path: Path) -> None:
    procs = [subprocess.Popen([*SWITCHBOARD, "migrate"], cwd=tmp_path, env=env(DATABASE_URL=empty_dsn),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    with psycopg.connect(empty_dsn) as conn:
        rows = conn.execute("SELECT version, count(*) FROM schema_migrations GROUP BY version").fetchall()
        assert rows and all(n == 1 for _, n in rows)
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'messages'").fetchone() == (1,)


def test_bad_database_url_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = subprocess.run([*SWITCHBOARD, "migrate"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=env(DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing"))
    assert proc.returncode == 3
    assert "cannot connect to the database at DATABASE_URL" in proc.stderr
    assert time.monotonic() - started < 30
    proc = subprocess.run([*SWITCHBOARD, "migrate"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=env(SWITCHBOARD_PORT="eighty"))
    assert proc.returncode == 2 and "SWITCHBOARD_PORT" in proc.stderr


@pytest.mark.skipif(postgres15.available() is None, reason="Debian's postgresql package is not installed")
def test_server_without_pgvector_is_refused_with_a_clear_message() -> None:
    server = postgres15.SystemPostgres()
    dsn = server.start()
    try:
        proc = subprocess.run([*SWITCHBOARD, "migrate"], cwd=REPO, capture_output=True, text=True, timeout=60,
                              env=env(DATABASE_URL=dsn))
        assert proc.returncode == 3
        assert "no 'vector' extension" in proc.stderr
    finally:
        server.stop()


def test_either_event_loop_runs_commands_and_an_unknown_one_is_named(empty_dsn: str, tmp_path: Path) -> None:
    proc = subprocess.run([*SWITCHBOARD, "migrate"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=env(DATABASE_URL=empty_dsn, SWITCHBOARD_EVENT_LOOP="asyncio"))
    assert proc.returncode == 0 and "migrations are current" in proc.stdout, proc.stderr
    proc = subprocess.run([*SWITCHBOARD, "migrate"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=env(DATABASE_URL=empty_dsn, SWITCHBOARD_EVENT_LOOP="trio"))
    assert proc.returncode == 2 and "SWITCHBOARD_EVENT_LOOP" in proc.stderr
