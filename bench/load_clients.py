"""The chat customers of ``bench.load``: one OS process each, real python-socketio clients.

Each process connects from its own loopback source address (see ``source_ip``), waits for the common
start signal, runs its phase and reports one dict on a queue; it never hangs the parent.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
import uuid
from collections import Counter
from typing import Any

from bench.load_processes import source_ip

QUESTIONS = (
    "How do I get my money back for last month's payment?",
    "I was billed two times this month, can you check?",
    "Where can I download a PDF of my invoice for accounting?",
    "I forgot my password and the reset email never arrives",
    "Please delete my account and all my data permanently",
    "Can I export all my data as a CSV before I leave?",
    "What's the difference between the Pro and Business plans?",
    "How do I invite a colleague to our workspace?",
    "Is the service down right now? The dashboard won't load",
    "I keep getting HTTP 429 too many requests from your API",
    "When will my order ship and how do I track it?",
    "How do I cancel my subscription without being charged again?",
)
CONNECT_SECONDS = 60.0
ACK_SECONDS = 30.0
MAX_RETRIES = 20

async def _session(http: Any, url: str, slug: str) -> str:
    for _ in range(MAX_RETRIES):
        async with http.post(f"{url}/chat/{slug}/session", json={}) as resp:
            if resp.status == 429:
                await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                continue
            resp.raise_for_status()
            return str((await resp.json())["token"])
    raise RuntimeError("session endpoint kept rate limiting")


async def _connect(url: str, ip: str, token: str, pushed: list[dict[str, Any]],
                   replied: asyncio.Event | None = None) -> tuple[Any, Any]:
    """``replied`` is set when an outbound message arrives, so waiting for a reply costs no polling CPU."""
    import aiohttp
    import socketio

    def on_message(message: dict[str, Any]) -> None:
        pushed.append(message)
        if replied is not None and isinstance(message, dict) and message.get("author") == "ai":
            replied.set()

    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0)))
    sio = socketio.AsyncClient(reconnection=False, http_session=http)
    sio.on("message", on_message, namespace="/chat")
    await sio.connect(url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"],
                      wait_timeout=CONNECT_SECONDS)
    return sio, http


async def _send(sio: Any, client_id: str, text: str, stats: Counter[str]) -> dict[str, Any] | None:
    for _ in range(MAX_RETRIES):
        try:
            ack = await sio.call("message", {"client_id": client_id, "text": text}, namespace="/chat",
                                 timeout=ACK_SECONDS)
        except Exception:  # a timeout: retry under the same client id (idempotent)
            stats["ack_timeouts"] += 1
            continue
        if isinstance(ack, dict) and ack.get("ok"):
            return ack
        if isinstance(ack, dict) and ack.get("error", {}).get("code") == "rate_limited":
            stats["rate_limited"] += 1
            await asyncio.sleep(0.25)
            continue
        stats["errors"] += 1
        return None
    return None


async def _ingest_client(index: int, url: str, slug: str | None, messages: int, go: Any, ready: Any) -> dict[str, Any]:
    import aiohttp

    ip = source_ip(index)
    pushed: list[dict[str, Any]] = []
    stats: Counter[str] = Counter()
    if slug is None:
        token = "echo"
    else:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0))) as http:
            token = await _session(http, url, slug)
    sio, http = await _connect(url, ip, token, pushed)
    acks: dict[str, dict[str, Any]] = {}
    try:
        ready.put(index)
        await asyncio.to_thread(go.wait, CONNECT_SECONDS * 2)
        started = time.time()
        for k in range(messages):
            client_id = f"c{index}-{k}-{uuid.uuid4().hex[:6]}"
            ack = await _send(sio, client_id, QUESTIONS[(index + k) % len(QUESTIONS)], stats)
            if ack is not None:
                acks[client_id] = ack
        finished = time.time()
    finally:
        await sio.disconnect()
        await http.close()
    return {"started": started, "finished": finished, "sent": messages, "acked": len(acks),
            "duplicate_acks": sum(1 for a in acks.values() if a.get("duplicate")),
            "message_ids": [a.get("message_id") for a in acks.values()], **stats}


async def _reply_client(index: int, url: str, slug: str, messages: int, go: Any, ready: Any,
                        within: float) -> dict[str, Any]:
    """M visitors ask at once (a burst of M new conversations), then wait for every reply."""
    import aiohttp

    ip = source_ip(index)
    stats: Counter[str] = Counter()
    visitors: list[tuple[Any, Any, list[dict[str, Any]], asyncio.Event]] = []
    latencies: list[float] = []
    reply_ids: list[int] = []
    conversation_ids: list[int] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0))) as http:
            tokens = [await _session(http, url, slug) for _ in range(messages)]
        for token in tokens:
            pushed: list[dict[str, Any]] = []
            replied = asyncio.Event()
            sio, session = await _connect(url, ip, token, pushed, replied)
            visitors.append((sio, session, pushed, replied))
        ready.put(index)
        await asyncio.to_thread(go.wait, CONNECT_SECONDS * 2)
        started = time.time()

        async def ask(k: int, sio: Any, replied: asyncio.Event) -> None:
            t0 = time.perf_counter()
            ack = await _send(sio, f"q{index}-{k}", QUESTIONS[(index * 5 + k) % len(QUESTIONS)], stats)
            if ack is None:
                return
            conversation_ids.append(int(ack["conversation_id"]))
            try:
                await asyncio.wait_for(replied.wait(), within)
            except TimeoutError:
                return
            latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(ask(k, sio, replied) for k, (sio, _, _, replied) in enumerate(visitors)))
        finished = time.time()
        # A grace moment for late pushes, then every reply id this client saw (duplicates included).
        await asyncio.sleep(0.5)
        for _, _, pushed, _ in visitors:
            reply_ids.extend(int(m["id"]) for m in pushed if m.get("direction") == "out")
    finally:
        for sio, session, _, _ in visitors:
            await sio.disconnect()
            await session.close()
    return {"started": started, "finished": finished, "sent": messages, "answered": len(latencies),
            "latencies_ms": latencies, "reply_ids": reply_ids, "conversation_ids": conversation_ids, **stats}


def _client_main(kind: str, index: int, url: str, slug: str | None, messages: int, go: Any, ready: Any,
                 out: Any, within: float) -> None:
    try:
        if kind == "reply":
            assert slug is not None
            result = asyncio.run(_reply_client(index, url, slug, messages, go, ready, within))
        else:
            result = asyncio.run(_ingest_client(index, url, slug, messages, go, ready))
    except BaseException as exc:  # report, never hang the parent
        result = {"error": f"{type(exc).__name__}: {exc}"}
    out.put((index, result))


def run_clients(kind: str, url: str, slug: str | None, clients: int, messages: int, *,
                within: float = 60.0, timeout: float = 600.0) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    out = ctx.Queue()
    ready = ctx.Queue()
    procs = [ctx.Process(target=_client_main, args=(kind, i, url, slug, messages, go, ready, out, within),
                         daemon=True) for i in range(clients)]
    for p in procs:
        p.start()
    # Start together once every client is connected (a client that failed to connect reports an error).
    connected = 0
    ready_deadline = time.monotonic() + CONNECT_SECONDS * 2
    while connected < clients and time.monotonic() < ready_deadline and any(p.is_alive() for p in procs):
        try:
            ready.get(timeout=1.0)
            connected += 1
        except Exception:
            continue
    go.set()
    results: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(results) < clients and time.monotonic() < deadline:
        try:
            index, result = out.get(timeout=1.0)
        except Exception:
            continue
        results[index] = result
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
    missing = [{"error": "no result (timed out)"} for _ in range(clients - len(results))]
    return [*results.values(), *missing]
