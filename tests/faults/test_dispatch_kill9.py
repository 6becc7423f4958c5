"""``kill -9`` around outbox dispatch, with real processes: nothing lost, and every duplicate dedupable.

A tenant's mailbox points at a recording SMTP server that holds each message ~80 ms between taking
it and answering "250 OK", so a batch of sends is in flight when the ``switchboard worker`` doing
them is killed. A second worker (short outbox lease) finishes the job. The promise checked is the
design's "at-least-once in, exactly-once effect": every reply reaches the server, each reply only
ever under its one deterministic Message-ID, and only a send that was in flight at the kill may
arrive twice — with the same Message-ID, so the receiver can drop it.

N replies by default (``SWITCHBOARD_FAULT_N`` raises it); every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from channels.email_smtp import CONVERSATION_HEADER, message_id_for
from gateway.ingest import AGENT_RUN, ingest
from gateway.replies import send_reply
from store import db, mailboxes, tenants
from store.mailboxes import Mailbox
from store.models import AuthorKind, Channel, Reply, ReplyKind
from store.outbox import Delivery
from tests import factories as f
from tests.servers.procs import REPO, env, free_port, start, stop, wait_until
from tests.servers.smtp import SmtpServer

N = int(os.environ.get("SWITCHBOARD_FAULT_N", "60"))
SMTP_DELAY_SECONDS = 0.08
LEASE_SECONDS = 3  # a row the killed worker held is retried this long after it was claimed
DEADLINE_SECONDS = 120


@dataclass(frozen=True)
class Desk:
    """What the test set up: the tenant, its mailbox and one email conversation per reply."""

    tenant_id: int
    mailbox: Mailbox
    answers: tuple[tuple[int, int], ...]  # (conversation_id, inbound message id) per reply


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(delay=SMTP_DELAY_SECONDS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- setup and writes (in this process, or in a writer process that gets killed) ------------------

async def _set_up(dsn: str, smtp_port: int) -> Desk:
    pool = await db.open_pool(dsn, max_size=4)
    try:
        async with pool.connection() as conn:
            tenant = await tenants.create(conn, "faults", "Faults Inc")
            mailbox = await mailboxes.create(
                conn, tenant.id, imap_host="127.0.0.1", imap_port=free_port(), imap_security="none",
                imap_username="nobody", imap_password_env="SB_FAULTS_NO_IMAP", from_address="support@faults.test",
                from_name="Faults Support", smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none",
            )
        answers = []
        for k in range(N):
            result = await ingest(pool, f.email(tenant.id, f"customer{k}@customer.test", f"Question {k}"))
            answers.append((result.conversation_id, result.message_id))
        async with pool.connection() as conn:
            # This test is about dispatch: agent runs would add AI replies (and model loading) to the mix.
            await conn.execute("UPDATE jobs SET status = 'done', finished_at = now() WHERE kind = %s", (AGENT_RUN,))
        return Desk(tenant.id, mailbox, tuple(answers))
    finally:
        await pool.close()


async def _write_replies(dsn: str, tenant_id: int, answers: list[tuple[int, int]]) -> None:
    """An agent answers every conversation: one transaction per reply (message + outbox row)."""
    pool = await db.open_pool(dsn, max_size=2)
    try:
        for k, (conversation_id, answers_message_id) in enumerate(answers):
            async with pool.connection() as conn, conn.transaction():
                await send_reply(conn, tenant_id, conversation_id, Reply(ReplyKind.ANSWER, f"Answer number {k}"),
                                 author_kind=AuthorKind.AGENT, answers_message_id=answers_message_id,
                                 base_url="http://sb.test")
    finally:
        await pool.close()


def writer_main() -> None:
    """Entry point of the writer process: writes, says so, then waits to be killed."""
    spec = json.loads(sys.argv[1])
    asyncio.run(_write_replies(spec["dsn"], spec["tenant_id"], [tuple(a) for a in spec["answers"]]))
    print("committed", flush=True)
    time.sleep(DEADLINE_SECONDS)


# --- looking at the store and the SMTP server -----------------------------------------------------

def _outbox(dsn: str) -> list[tuple[int, str, int, str, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, status, attempts, idempotency_key, conversation_id FROM outbox"
                            " WHERE channel = %s ORDER BY id", (Channel.EMAIL.value,)).fetchall()
    return [(int(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4])) for r in rows]


def _pending(dsn: str) -> int:
    return sum(1 for r in _outbox(dsn) if r[1] == "pending")


def _other_backends(dsn: str) -> int:
    """Sessions on the test database besides this one: zero once a killed worker's are gone."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid()").fetchone()
    return int(row[0]) if row else 0


def _expected_message_ids(dsn: str, desk: Desk) -> dict[int, str]:
    """conversation id → the one Message-ID its reply may carry (derived as the sender derives it)."""
    out = {}
    for row_id, _, attempts, key, conversation_id in _outbox(dsn):
        d = Delivery(row_id, desk.tenant_id, conversation_id, None, Channel.EMAIL, key, {}, attempts,
                     datetime.now(UTC))
        out[conversation_id] = message_id_for(d, desk.mailbox)
    return out


def _received(smtp: SmtpServer) -> list[tuple[int, str]]:
    """(conversation id, Message-ID) of every message the server took, duplicates included."""
    out = []
    for m in smtp.messages:
        msg = m.message
        out.append((int(str(msg[CONVERSATION_HEADER])), str(msg["Message-ID"])))
    return out


def _start_worker(dsn: str, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    return start(["worker"], cwd=tmp_path, log=tmp_path / f"{name}.log", DATABASE_URL=dsn,
                 SWITCHBOARD_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS), SWITCHBOARD_DATA_DIR=str(tmp_path / "data"))


def _kill9(proc: subprocess.Popen[bytes], dsn: str) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    # Its database sessions end with it; after that nothing it started can still commit.
    wait_until(lambda: _other_backends(dsn) == 0, timeout=30, what="the killed process's sessions to end")


def _finish_and_check(dsn: str, desk: Desk, smtp: SmtpServer, tmp_path: Path,
                      in_flight_at_kill: set[int]) -> dict[str, int]:
    """Runs a fresh worker until the outbox is drained, then checks the exactly-once effect."""
    worker = _start_worker(dsn, tmp_path, "worker-after-kill")
    log = tmp_path / "worker-after-kill.log"
    try:
        wait_until(lambda: _pending(dsn) == 0 or worker.poll() is not None, timeout=DEADLINE_SECONDS,
                   what="the new worker to drain the outbox")
        assert worker.poll() is None, log.read_text()
    finally:
        assert stop(worker) == 0, log.read_text()

    rows = _outbox(dsn)
    assert len(rows) == N and {r[1] for r in rows} == {"sent"}, rows
    expected = _expected_message_ids(dsn, desk)
    received = _received(smtp)
    ids_per_reply: dict[int, set[str]] = defaultdict(set)
    for conversation_id, mid in received:
        ids_per_reply[conversation_id].add(mid)
    # Nothing lost, and no reply ever went out under a second, different Message-ID.
    assert set(ids_per_reply) == set(expected)
    assert {c: ids for c, ids in ids_per_reply.items() if ids != {expected[c]}} == {}
    counts = Counter(mid for _, mid in received)
    assert len(counts) == N
    # Only what was in flight at the kill may arrive twice (same Message-ID: the receiver dedupes).
    twice = {c for c, mid in expected.items() if counts[mid] > 1}
    assert twice <= in_flight_at_kill, (twice, in_flight_at_kill)
    assert max(counts.values()) <= 2, counts.most_common(3)
    return {"n": N, "smtp_messages": len(received), "distinct_message_ids": len(counts),
            "duplicated_same_message_id": len(twice)}


def _report(name: str, numbers: dict[str, int]) -> None:
    print(f"\n{name}: " + json.dumps(numbers, sort_keys=True), flush=True)


# --- the faults -----------------------------------------------------------------------------------

def test_worker_killed_mid_batch_loses_nothing_and_duplicates_only_in_flight_sends(
    dsn: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    desk = asyncio.run(_set_up(dsn, smtp.port))
    asyncio.run(_write_replies(dsn, desk.tenant_id, list(desk.answers)))
    assert _pending(dsn) == N

    worker = _start_worker(dsn, tmp_path, "worker-killed")
    threshold = max(1, N // 2)  # mid-run: some sends marked sent, a batch in flight, the rest not claimed
    try:
        wait_until(lambda: len(smtp.messages) >= threshold or worker.poll() is not None,
                   timeout=DEADLINE_SECONDS, what=f"{threshold} messages at the SMTP server", interval=0.01)
        assert worker.poll() is None, (tmp_path / "worker-killed.log").read_text()
    finally:
        if worker.poll() is None:
            _kill9(worker, dsn)

    rows = _outbox(dsn)
    in_flight = {r[4] for r in rows if r[1] == "pending" and r[2] > 0}  # claimed, never marked sent
    sent_before = sum(1 for r in rows if r[1] == "sent")
    received_at_kill = len(smtp.messages)
    assert sent_before < N, "every reply was sent before the kill: nothing was in flight to test"
    numbers = _finish_and_check(dsn, desk, smtp, tmp_path, in_flight)
    _report("kill9-mid-batch", {**numbers, "marked_sent_before_kill": sent_before,
                                "in_flight_at_kill": len(in_flight), "smtp_messages_at_kill": received_at_kill})


def test_writer_killed_right_after_commit_before_any_worker_ran_delivers_each_reply_once(
    dsn: str, smtp: SmtpServer, tmp_path: Path
) -> None:
    desk = asyncio.run(_set_up(dsn, smtp.port))
    spec = json.dumps({"dsn": dsn, "tenant_id": desk.tenant_id, "answers": desk.answers})
    log = tmp_path / "writer.log"
    with log.open("wb") as out:
        writer = subprocess.Popen(
            [sys.executable, "-c", "from tests.faults.test_dispatch_kill9 import writer_main; writer_main()", spec],
            cwd=REPO, env=env(), stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: b"committed" in log.read_bytes() or writer.poll() is not None,
                   timeout=DEADLINE_SECONDS, what="the writer's commits")
        assert writer.poll() is None, log.read_text()
    finally:
        if writer.poll() is None:
            _kill9(writer, dsn)
    assert _pending(dsn) == N and smtp.attempts == 0  # committed, and nobody has sent anything yet

    numbers = _finish_and_check(dsn, desk, smtp, tmp_path, in_flight_at_kill=set())
    assert numbers["smtp_messages"] == N  # nothing was in flight: each exactly once
    _report("kill9-writer-after-commit", numbers)
