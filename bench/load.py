"""Chat load: K real Socket.IO customers (one OS process each) against a real ``switchboard serve``.

Phases, all in one run on one machine:
1. **ingest** — a gateway without workers (``SWITCHBOARD_RUN_WORKERS=false``); each client connects
   once and sends M messages one after another, waiting for each ack (socket → stored → acked).
2. **echo** — the same client code against a bare python-socketio aiohttp server (another process)
   whose ``message`` handler only returns an ack: the ceiling of the socket stack itself.
3. **reply** — the gateway restarted with its workers on a second tenant with the demo KB imported;
   each client holds M visitors (M fresh customers: a conversation handed to a person gets no more AI
   replies, so every question opens its own conversation); all K×M visitors ask a KB question at once
   and wait for the AI's reply pushed back on their socket (an AI-authored message: a system notice
   such as "we know about this incident" does not count); latency is send → reply received. The
   tenant's thresholds leave no silent "draft for an agent" outcome: every question must end in a
   customer-visible answer or handoff notice, so a missing reply is a loss.
4. **model ceiling** — ``agent_graph.embedder.embed`` on the same question texts, batched, in this
   process while the gateway is idle.

Clients connect from distinct loopback source addresses (127.0.0.2, 127.0.0.3, …; the destination is
always 127.0.0.1) because the chat's per-address limits would otherwise throttle everyone as one
customer. A ``rate_limited`` ack is retried with the same client id (the chat is idempotent by it) and
counted. ``lost`` / ``duplicated`` are counted at the clients and in the store: a message not acked or
not stored, a question with no customer-visible reply in the store, a stored reply no client received /
a message acked as a duplicate or stored twice, the same reply pushed twice. Chat rate limits are
raised for the run (``SWITCHBOARD_CHAT_MESSAGES_PER_SECOND``): the bench measures capacity, not policy.

    python -m bench.load --json [--clients K --messages M]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.load_clients import QUESTIONS, run_clients
from bench.load_processes import (
    cpu_seconds,
    echo_server_main,
    free_port,
    postmaster_pid,
    profiler,
    start_gateway,
    stop_process,
    wait_http,
)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[k], 1)


# --- the run ------------------------------------------------------------------------------------------

def rate(results: list[dict[str, Any]], count_key: str) -> tuple[float, int]:
    ok = [r for r in results if "error" not in r]
    if not ok:
        return 0.0, 0
    count = sum(int(r[count_key]) for r in ok)
    wall = max(r["finished"] for r in ok) - min(r["started"] for r in ok)
    return (round(count / wall, 1) if wall > 0 else 0.0), count


async def _prepare(dsn: str) -> tuple[str, str]:
    from agent_graph.kb_import import import_directory
    from gateway.demo import DEMO_KB
    from store import db, tenants

    await db.migrate(dsn)
    pool = await db.open_pool(dsn, max_size=4)
    try:
        async with pool.connection() as conn:
            ingest_tenant = await tenants.create(conn, "load-ingest", "Load Ingest")
            reply_tenant = await tenants.create(conn, "load-reply", "Load Reply")
            # Every run ends customer-visible (an answer or a handoff notice), never in a silent draft,
            # so an unanswered question is a real loss, not policy.
            await conn.execute("UPDATE tenants SET settings = settings || %s::jsonb WHERE id = %s",
                               (json.dumps({"thresholds": {"auto_resolve": 0.0, "suggest": 1.01,
                                                           "retrieval_min": 0.35}}), reply_tenant.id))
        await import_directory(pool, reply_tenant.id, DEMO_KB, progress=False)
        return ingest_tenant.slug, reply_tenant.slug
    finally:
        await pool.close()


async def _audit(dsn: str, ingest_slug: str, reply_slug: str) -> dict[str, Any]:
    """What the store holds: stored inbound messages and the customer-visible replies per conversation."""
    import psycopg
    from psycopg.rows import dict_row

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = await conn.execute(
            "SELECT t.slug, count(*) AS n, count(DISTINCT m.external_id) AS distinct_ids FROM messages m"
            " JOIN tenants t ON t.id = m.tenant_id WHERE m.direction = 'in' AND t.slug = ANY(%s) GROUP BY t.slug",
            ([ingest_slug, reply_slug],))
        inbound = {r["slug"]: r for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT m.conversation_id, array_agg(m.id) AS ids FROM messages m JOIN tenants t ON t.id = m.tenant_id"
            " WHERE t.slug = %s AND m.direction = 'out' AND m.author_kind = 'ai'"
            "   AND m.reply_kind IN ('answer', 'clarify', 'handoff', 'notice')"
            " GROUP BY m.conversation_id", (reply_slug,))
        replies = {int(r["conversation_id"]): [int(i) for i in r["ids"]] for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT m.reply_kind, count(*) AS n FROM messages m JOIN tenants t ON t.id = m.tenant_id"
            " WHERE t.slug = %s AND m.direction = 'out' GROUP BY m.reply_kind", (reply_slug,))
        kinds = {str(r["reply_kind"]): int(r["n"]) for r in await cur.fetchall()}
    return {"inbound": inbound, "replies": replies, "reply_kinds": kinds}


async def _park_ingest_jobs(dsn: str) -> int:
    """The ingest phase ran without workers: its queued agent runs must not load the reply phase."""
    import psycopg

    from gateway.ingest import AGENT_RUN

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("UPDATE jobs SET status = 'done', finished_at = now() WHERE kind = %s"
                                 " AND status = 'queued'", (AGENT_RUN,))
        return cur.rowcount


def model_ceiling(texts: list[str], min_seconds: float = 2.0) -> float:
    from agent_graph.embedder import embed

    embed(texts[:8])  # load the model outside the timing
    n = 0
    started = time.perf_counter()
    for _ in range(1000):
        embed(texts)
        n += len(texts)
        if time.perf_counter() - started >= min_seconds:
            break
    return round(n / (time.perf_counter() - started), 1)


def run(clients: int, messages: int, reply_wait: float, profile: Path | None = None) -> dict[str, Any]:
    from store.embedded import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="sb-load-"))
    pg = EmbeddedPostgres(tmp / "pg")
    dsn = pg.start()
    secret = uuid.uuid4().hex * 2
    procs: list[subprocess.Popen[bytes]] = []
    echo: Any = None
    audit: dict[str, Any] = {}
    cpu: dict[str, tuple[float, float]] = {}
    try:
        ingest_slug, reply_slug = asyncio.run(_prepare(dsn))
        port = free_port()

        gw = start_gateway(tmp, dsn, port, secret, workers=False, name="serve-ingest")
        procs.append(gw)
        url = f"http://127.0.0.1:{port}"
        spies = [profiler(gw, profile and profile / "ingest.txt")]
        postmaster = postmaster_pid(tmp / "pg")
        before = cpu_seconds(gw.pid), cpu_seconds(postmaster)
        ingest_results = run_clients("ingest", url, ingest_slug, clients, messages)
        cpu["ingest"] = cpu_seconds(gw.pid) - before[0], cpu_seconds(postmaster) - before[1]
        stop_process(gw)

        echo_port = free_port()
        echo = mp.get_context("spawn").Process(target=echo_server_main, args=(echo_port,), daemon=True)
        echo.start()
        wait_http(f"http://127.0.0.1:{echo_port}/readyz", 30)
        echo_results = run_clients("echo", f"http://127.0.0.1:{echo_port}", None, clients, messages)
        echo.terminate()
        echo.join(10)

        parked = asyncio.run(_park_ingest_jobs(dsn))
        gw = start_gateway(tmp, dsn, port, secret, workers=True, name="serve-reply")
        procs.append(gw)
        warm = run_clients("reply", url, reply_slug, 1, 1, within=120)  # model load, not counted
        spies.append(profiler(gw, profile and profile / "reply.txt"))
        before = cpu_seconds(gw.pid), cpu_seconds(postmaster)
        reply_results = run_clients("reply", url, reply_slug, clients, messages, within=reply_wait,
                                    timeout=120 + clients * messages * reply_wait)
        cpu["reply"] = cpu_seconds(gw.pid) - before[0], cpu_seconds(postmaster) - before[1]
        stop_process(gw)
        audit = asyncio.run(_audit(dsn, ingest_slug, reply_slug))

        texts = [QUESTIONS[(i * 5 + k) % len(QUESTIONS)] for i in range(clients) for k in range(messages)]
        ceiling = model_ceiling(texts)
        for spy in filter(None, spies):
            spy.wait(60)
    finally:
        for p in procs:
            stop_process(p)
        if echo is not None and echo.is_alive():
            echo.kill()
        pg.stop()

    ingest_rate, ingest_acked = rate(ingest_results, "acked")
    echo_rate, _ = rate(echo_results, "acked")
    reply_rate, answered = rate(reply_results, "answered")
    ok_ingest = [r for r in ingest_results if "error" not in r]
    ok_reply = [r for r in reply_results if "error" not in r]
    message_ids = [m for r in ok_ingest for m in r["message_ids"]]
    reply_ids = Counter(i for r in ok_reply for i in r["reply_ids"])
    latencies = [x for r in ok_reply for x in r["latencies_ms"]]
    sent = clients * messages
    # Counted in the store, not only at the clients: an inbound message stored twice, a question whose
    # conversation has no customer-visible reply, or a stored reply no client received is a loss.
    stored_in = {slug: (int(r["n"]), int(r["distinct_ids"])) for slug, r in audit.get("inbound", {}).items()}
    asked = [c for r in ok_reply for c in r["conversation_ids"]]
    stored_replies = audit.get("replies", {})
    unanswered_in_store = sum(1 for c in set(asked) if not stored_replies.get(c))
    undelivered = sum(1 for c in set(asked) for i in stored_replies.get(c, []) if i not in reply_ids)
    stored_ingest, distinct_ingest = stored_in.get("load-ingest", (0, 0))
    stored_reply, distinct_reply = stored_in.get("load-reply", (0, 0))
    lost = (max(sent - ingest_acked, sent - distinct_ingest)
            + max(sent - len(set(asked)), sent - (distinct_reply - 1))  # - 1: the warm-up question
            + unanswered_in_store + undelivered)
    return {
        "clients": clients, "messages_per_client": messages,
        "ingest_msgs_per_s": ingest_rate, "echo_msgs_per_s": echo_rate,
        "ingest_ratio": round(ingest_rate / echo_rate, 3) if echo_rate else None,
        "reply_msgs_per_s": reply_rate, "model_ceiling_per_s": ceiling,
        "reply_ratio": round(reply_rate / ceiling, 3) if ceiling else None,
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "lost": lost,
        "duplicated": (sum(r["duplicate_acks"] for r in ok_ingest) + (len(message_ids) - len(set(message_ids)))
                       + (stored_ingest - distinct_ingest) + (stored_reply - distinct_reply)
                       + sum(c - 1 for c in reply_ids.values() if c > 1)),
        "detail": {
            "ingest": {"acked": ingest_acked, "sent": sent,
                       "rate_limited_retries": sum(r.get("rate_limited", 0) for r in ok_ingest),
                       "ack_timeouts": sum(r.get("ack_timeouts", 0) for r in ok_ingest)},
            "echo": {"acked": sum(int(r["acked"]) for r in echo_results if "error" not in r), "sent": sent},
            "store": {"ingest_inbound": stored_ingest, "reply_inbound": stored_reply,
                      "unanswered": unanswered_in_store, "stored_but_not_received": undelivered,
                      "reply_kinds": audit.get("reply_kinds", {})},
            "reply": {"answered": answered, "sent": sent, "reply_wait_s": reply_wait,
                      "rate_limited_retries": sum(r.get("rate_limited", 0) for r in ok_reply)},
            "client_errors": [r["error"] for r in [*ingest_results, *echo_results, *reply_results] if "error" in r][:5],
            "warmup_answered": sum(int(r.get("answered", 0)) for r in warm),
            # CPU per message over the whole phase (its connects included): steadier than a rate on a shared box.
            "cpu_ms_per_message": {phase: {"gateway": round(g / sent * 1000, 2), "postgres": round(p / sent * 1000, 2)}
                                   for phase, (g, p) in cpu.items()},
            "parked_ingest_agent_jobs": parked, "cpus": os.cpu_count(),
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--clients", type=int, default=20, help="K concurrent chat customers (processes)")
    parser.add_argument("--messages", type=int, default=10, help="M messages per customer")
    parser.add_argument("--reply-wait", type=float, default=60.0, help="seconds to wait for each AI reply")
    parser.add_argument("--profile", type=Path, help="write py-spy raw stacks of the gateway per phase into this folder")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 500 or not 1 <= args.messages <= 1000:
        parser.error("--clients 1..500, --messages 1..1000")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    result = run(args.clients, args.messages, args.reply_wait, args.profile)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
