"""The processes ``bench.load`` and ``bench.idle`` drive: a real ``switchboard serve``, a bare echo server.

Kept apart from the run so both benches start the servers the same way (same env, same readiness check).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def source_ip(index: int) -> str:
    return f"127.0.{1 + index // 250}.{2 + index % 250}"


def echo_server_main(port: int) -> None:
    """A bare python-socketio aiohttp server: ``/chat`` ``message`` → an ack, nothing stored.

    It runs on uvloop like ``switchboard serve`` does, so the ratio compares our work, not event loops."""
    import socketio
    import uvloop
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app)
    counter = {"n": 0}

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/readyz", health)

    @sio.on("message", namespace="/chat")  # type: ignore[misc]
    async def message(sid: str, data: Any) -> dict[str, Any]:
        counter["n"] += 1
        return {"ok": True, "message_id": counter["n"], "seq": counter["n"], "conversation_id": 1,
                "duplicate": False}

    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True, loop=uvloop.new_event_loop())


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its reaped children and its live children (Linux ``/proc``).

    The per-message cost of the gateway and of PostgreSQL (the postmaster and its backends) is steadier
    than a rate on a shared machine: it does not move when another job takes a core."""
    tick = os.sysconf("SC_CLK_TCK")

    def fields(p: int) -> list[str] | None:
        try:
            return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None

    own = fields(pid)
    if own is None:
        return 0.0
    total = sum(int(x) for x in own[11:15])  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (f := fields(int(entry.name))) is not None and int(f[1]) == pid:
            total += int(f[11]) + int(f[12])
    return total / tick


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def start_gateway(tmp: Path, dsn: str, port: int, secret: str, workers: bool, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_") and k != "DATABASE_URL"}
    env.update({"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DATABASE_URL": dsn,
                "SWITCHBOARD_SECRET_KEY": secret, "SWITCHBOARD_DATA_DIR": str(tmp / "gw"),
                "SWITCHBOARD_RUN_WORKERS": "true" if workers else "false", "SWITCHBOARD_LOG_LEVEL": "WARNING",
                "SWITCHBOARD_POOL_MAX_SIZE": "20",
                # Capacity, not policy: the per-connection chat rate limit would otherwise be what is measured.
                "SWITCHBOARD_CHAT_MESSAGES_PER_SECOND": "10000"})
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)], cwd=tmp, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/readyz", 120, proc)
    return proc


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(45)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def profiler(proc: subprocess.Popen[bytes], out: Path | None) -> subprocess.Popen[bytes] | None:
    """py-spy on the gateway for one measured phase (it stops when the gateway does); None without --profile."""
    if out is None:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "--pid", str(proc.pid), "--rate", "50", "--format", "raw",
                             "--nonblocking", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
