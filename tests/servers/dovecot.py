"""A private Dovecot IMAP server on a loopback port, for the email channel's tests.

Everything lives under one temp directory (config, state, logs, maildir); the system's
/etc/dovecot is never read (``dovecot -c CONF``). The maildir survives ``restart()``, so UIDs and
UIDVALIDITY stay what a real server restart keeps.
"""

from __future__ import annotations

import contextlib
import copy
import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.servers.procs import free_port, wait_until

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_UID = 65534  # nobody: the static userdb owner of every maildir
USER = "support@example.test"
PASSWORD = "secret"


def available() -> bool:
    return Path(DOVECOT).exists()


SPARE_USERS = 200


class Dovecot:
    def __init__(self) -> None:
        # /tmp rather than pytest's tmp dir: Dovecot's unprivileged processes must enter the directory.
        self.root = Path(tempfile.mkdtemp(prefix="sb-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.user = USER
        self.password = PASSWORD
        # Dovecot's passwd-file backend re-reads its file at most once a second, so a user appended
        # and used within the same second is unknown (seen on a fast machine). Every user a test run
        # can need is therefore written before the server starts, and handed out from this list.
        self._spare_users = [f"u{i:04d}{uuid.uuid4().hex[:6]}@example.test" for i in range(SPARE_USERS)]

    def with_new_user(self) -> Dovecot:
        """The same server seen as a fresh mailbox owner: tests share one server, never a maildir."""
        if not self._spare_users:
            raise RuntimeError(f"all {SPARE_USERS} pre-created Dovecot users are in use; raise SPARE_USERS")
        other = copy.copy(self)
        other.user = self._spare_users.pop()  # the list is shared with the copies: each user once
        return other

    def _write_config(self) -> None:
        r = self.root
        for d in ("base", "state", "mail"):
            (r / d).mkdir(exist_ok=True)
        os.chown(r / "mail", MAIL_UID, MAIL_UID)
        if not (r / "users").exists():
            (r / "users").write_text("".join(f"{user}:{{PLAIN}}{self.password}::::::\n"
                                             for user in (self.user, *self._spare_users)))
        self.conf.write_text(f"""
base_dir = {r}/base
state_dir = {r}/state
log_path = {r}/dovecot.log
info_log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{r}/mail/%u/Maildir
mail_privileged_group =
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={r}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
protocol imap {{
  imap_idle_notify_interval = 1 secs
}}
""")

    def start(self) -> None:
        self._write_config()
        # The master daemonizes and keeps inherited pipes open: no captured output, or run() never returns.
        subprocess.run([DOVECOT, "-c", str(self.conf)], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._accepts, timeout=15, what=f"dovecot on port {self.port}")

    def stop(self) -> None:
        """SIGTERM to this instance's master (by its pid file): ``dovecot stop`` polls and takes ~3 s."""
        pid_file = self.root / "base" / "master.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not _alive(pid), timeout=15, what="dovecot to stop")
        wait_until(lambda: not self._accepts(), timeout=15, what="dovecot's port to close")

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                return s.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- a second client, playing the customer's mail server delivering into the mailbox ----------
    def _client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Delivers one message (blocking; call through ``asyncio.to_thread`` from async tests)."""
        client = self._client()
        try:
            status, data = client.append(folder, None, imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """UID → flags string of every message in ``folder``."""
        client = self._client()
        try:
            client.select(folder, readonly=True)
            _status, data = client.uid("FETCH", "1:*", "(FLAGS)")
            out: dict[int, str] = {}
            for item in data:
                if not item:
                    continue
                text = item.decode() if isinstance(item, bytes) else item[0].decode()
                uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                out[uid] = text.split("FLAGS (")[1].split(")")[0]
            return out
        finally:
            client.logout()

    def create_folder(self, folder: str) -> None:
        client = self._client()
        try:
            client.create(folder)
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self._client()
        try:
            status, data = client.select(folder, readonly=True)
            return int(data[0]) if status == "OK" else 0
        finally:
            client.logout()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
