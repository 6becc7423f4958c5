"""Idle chat connections: how many one ``switchboard serve`` holds, and what each costs in memory.

N real Socket.IO clients (websocket transport, spread over P client processes and over loopback
source addresses so the per-address connection limit is not what is measured) connect to the
``/chat`` namespace with signed visitor tokens and stay idle. The gateway's resident memory is read
from ``/proc`` before and after; the same clients then do the same against a bare python-socketio
server in the same run (the baseline: what the socket stack itself costs per connection).

    python -m bench.idle --json [--connections 5000 --processes 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.load_processes import (
    echo_server_main,
    free_port,
    source_ip,
    start_gateway,
    stop_process,
    wait_http,
)

PER_ADDRESS = 40  # below the chat's default 50 connections per address
CONNECT_SECONDS = 120.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def _hold(url: str, tokens: list[str], first_index: int, held: Any, release: Any) -> int:
    import aiohttp
    import socketio

    clients: list[tuple[Any, Any]] = []

    async def one(k: int, token: str) -> None:
        ip = source_ip((first_index + k) // PER_ADDRESS)
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0)))
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        try:
            await sio.connect(url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"],
                              wait_timeout=CONNECT_SECONDS)
        except Exception:
            await http.close()
            return
        clients.append((sio, http))

    for start in range(0, len(tokens), 100):  # waves, so the accept queue is not what fails
        await asyncio.gather(*(one(start + k, t) for k, t in enumerate(tokens[start:start + 100])))
    held.put(len(clients))
    await asyncio.to_thread(release.wait, 600)
    for sio, http in clients:
        await sio.disconnect()
        await http.close()
    return len(clients)


def _client_main(url: str, tokens: list[str], first_index: int, held: Any, release: Any) -> None:
    asyncio.run(_hold(url, tokens, first_index, held, release))


def hold_connections(url: str, pid: int, tokens: list[str], processes: int) -> dict[str, Any]:
    """Connects every token, reads the server's memory while all are held, then lets them go."""
    ctx = mp.get_context("spawn")
    held, release = ctx.Queue(), ctx.Event()
    before = rss_mb(pid)
    share = -(-len(tokens) // processes)
    procs = [ctx.Process(target=_client_main, args=(url, tokens[i:i + share], i, held, release), daemon=True)
             for i in range(0, len(tokens), share)]
    started = time.monotonic()
    for p in procs:
        p.start()
    count = 0
    for _ in procs:
        count += int(held.get(timeout=CONNECT_SECONDS * 10))
    connect_s = time.monotonic() - started
    time.sleep(2.0)  # let the server settle (handshake buffers freed) before reading its memory
    after = rss_mb(pid)
    release.set()
    for p in procs:
        p.join(60)
        if p.is_alive():
            p.kill()
    return {"held": count, "rss_before_mb": round(before, 1), "rss_held_mb": round(after, 1),
            "kb_per_connection": round((after - before) * 1024 / count, 1) if count else None,
            "connect_s": round(connect_s, 1)}


async def _tenant(dsn: str) -> int:
    from store import db, tenants

    await db.migrate(dsn)
    pool = await db.open_pool(dsn, max_size=2)
    try:
        async with pool.connection() as conn:
            return (await tenants.create(conn, "idle-bench", "Idle Bench")).id
    finally:
        await pool.close()


def run(connections: int, processes: int) -> dict[str, Any]:
    from channels.chat import VisitorTokens
    from store.embedded import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="sb-idle-"))
    pg = EmbeddedPostgres(tmp / "pg")
    dsn = pg.start()
    secret = uuid.uuid4().hex * 2
    try:
        tenant_id = asyncio.run(_tenant(dsn))
        issuer = VisitorTokens(secret, 3600)
        tokens = [issuer.issue(tenant_id, uuid.uuid4().hex) for _ in range(connections)]
        port = free_port()
        gw = start_gateway(tmp, dsn, port, secret, workers=False, name="serve-idle")
        try:
            gateway = hold_connections(f"http://127.0.0.1:{port}", gw.pid, tokens, processes)
            wait_http(f"http://127.0.0.1:{port}/readyz", 30)  # still serving afterwards
        finally:
            stop_process(gw)
        echo_port = free_port()
        echo = mp.get_context("spawn").Process(target=echo_server_main, args=(echo_port,), daemon=True)
        echo.start()
        try:
            wait_http(f"http://127.0.0.1:{echo_port}/readyz", 30)
            assert echo.pid is not None
            baseline = hold_connections(f"http://127.0.0.1:{echo_port}", echo.pid, tokens, processes)
        finally:
            echo.terminate()
            echo.join(10)
    finally:
        pg.stop()
    return {"connections": connections, "gateway": gateway, "echo": baseline,
            "held_ratio": round(gateway["held"] / connections, 3),
            "memory_ratio": (round(gateway["kb_per_connection"] / baseline["kb_per_connection"], 2)
                             if gateway["kb_per_connection"] and baseline["kb_per_connection"] else None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=10, help="client processes")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 50_000 or not 1 <= args.processes <= 64:
        parser.error("--connections 1..50000, --processes 1..64")
    result = run(args.connections, args.processes)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
