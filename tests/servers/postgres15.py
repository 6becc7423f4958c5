"""A private PostgreSQL from the system's binaries (no pgvector), for testing the external-server path."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.servers.procs import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def available() -> Path | None:
    for d in BIN_DIRS:
        if (d / "initdb").exists():
            return d
    return None


class SystemPostgres:
    def __init__(self) -> None:
        bindir = available()
        assert bindir is not None, "install Debian's postgresql package (.ci/run does)"
        self.bin = bindir
        # Its own directory under /tmp: pytest's temp dirs are private to root, and postgres must enter it.
        self.root = Path(tempfile.mkdtemp(prefix="sb-pg15-"))
        self.port = free_port()
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        self.sock.mkdir(exist_ok=True)
        if self._as_user:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
            self.root.chmod(0o755)
        subprocess.run([*self._as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l",
                        str(self.root / "log"), "-o",
                        f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       check=True, capture_output=True)
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run([*self._as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
