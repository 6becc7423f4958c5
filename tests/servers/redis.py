"""A private redis-server on a loopback port for tests (never the machine's own service on 6379)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

from tests.servers.procs import free_port, wait_until


def ping(port: int, timeout: float = 0.5) -> bool:
    """True when a Redis on 127.0.0.1:port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``start()`` / ``kill()`` / ``start()`` again keeps the same port, so clients can come back."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server; ./run test does it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._starts += 1
        log = (self.workdir / f"redis-{self._starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: ping(self.port) or self.proc is None or self.proc.poll() is not None,
                   timeout=timeout, what=f"redis-server on port {self.port}")
        if not ping(self.port):
            raise RuntimeError(f"redis-server did not start: {self.log_text()}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to connected clients (like a crashed or rescheduled Redis)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        wait_until(lambda: not ping(self.port), timeout=10, what="redis-server to go away")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("redis-*.log")))
