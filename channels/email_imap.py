"""One IMAP connection to one folder, over aioimaplib, with the few commands the poller needs.

aioimaplib leaves a command hanging when the connection drops (it only notices on the next
command's timeout), so every call here races the command against a "connection lost" event: a
server restart surfaces at once as ``ImapError`` and the poller reconnects. STARTTLS is done here
because aioimaplib 2.0 has no method for it: the command, then ``loop.start_tls`` on its transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

T = TypeVar("T")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_EXISTS = re.compile(rb"^(\d+) EXISTS")
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_LITERAL = re.compile(rb"\{(\d+)\}$")


class ImapError(Exception):
    """The server said no, went away or stopped answering: reconnect and try again."""


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int
    exists: int


class ImapSession:
    def __init__(self, host: str, port: int, security: str, *, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self.new_mail = False  # an EXISTS arrived since the last listing of new UIDs

    # -- connection ------------------------------------------------------------------------------
    async def open(self, username: str, password: str, folder: str) -> FolderStatus:
        context = self.ssl_context or ssl.create_default_context()
        self._client = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=self.timeout,
                                        conn_lost_cb=lambda _exc: self._lost.set(),
                                        ssl_context=context if self.security == "tls" else None)
        self._watch_exists(self._client.protocol)
        await self._call(self._client.wait_hello_from_server())
        if self.security == "starttls":
            await self._starttls(context)
        login = await self._call(self._client.login(username, password))
        if login.result != "OK":
            raise ImapError(f"login refused: {_text(login.lines)}")
        return await self.select(folder)

    def _watch_exists(self, proto: Any) -> None:
        """Notes every ``* n EXISTS``, including those aioimaplib drops.

        Dovecot reports mail that arrived during a command (our UID STORE, say) in that command's
        response, where aioimaplib ignores it, and does not repeat it when IDLE starts; without this,
        such mail would wait for the next IDLE timeout.
        """
        original = proto._untagged_response

        def spy(line: bytes) -> Any:
            if _EXISTS.match(line.replace(b"* ", b"", 1)):
                self.new_mail = True
            return original(line)

        proto._untagged_response = spy

    async def _starttls(self, context: ssl.SSLContext) -> None:
        client = self._require()
        if not client.has_capability("STARTTLS"):
            raise ImapError("server does not offer STARTTLS")
        proto = client.protocol
        resp = await self._call(proto.execute(aioimaplib.Command("STARTTLS", proto.new_tag(), loop=proto.loop)))
        if resp.result != "OK":
            raise ImapError(f"STARTTLS refused: {_text(resp.lines)}")
        loop = asyncio.get_running_loop()
        proto.transport = await self._call(loop.start_tls(proto.transport, proto, context, server_hostname=self.host))
        await self._call(proto.capability())  # capabilities before TLS must not be trusted (RFC 3501 6.2.1)

    async def select(self, folder: str) -> FolderStatus:
        resp = await self._call(self._require().select(_quote(folder)))
        if resp.result != "OK":
            raise ImapError(f"cannot select {folder!r}: {_text(resp.lines)}")
        joined = b"\n".join(bytes(line) for line in resp.lines)
        validity = _UIDVALIDITY.search(joined)
        exists = next((int(m.group(1)) for line in resp.lines if (m := _EXISTS.match(bytes(line)))), 0)
        if validity is None:
            raise ImapError("server sent no UIDVALIDITY")
        return FolderStatus(int(validity.group(1)), exists)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if not self._lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)
        for task in list(client.tasks) + list(client.protocol.tasks):
            task.cancel()
        transport = client.protocol.transport
        if transport is not None:
            transport.close()

    # -- reading ---------------------------------------------------------------------------------
    async def uids_after(self, last_uid: int) -> list[tuple[int, int]]:
        """(uid, size) of messages with UID > last_uid, ascending.

        ``n:*`` always matches the highest UID even when it is below n, so the range alone is not
        enough: the filter drops what we already have.
        """
        self.new_mail = False
        resp = await self._call(self._require().uid("fetch", f"{last_uid + 1}:*", "(UID RFC822.SIZE)"))
        if resp.result != "OK":
            raise ImapError(f"UID FETCH failed: {_text(resp.lines)}")
        found: dict[int, int] = {}
        for line in resp.lines:
            data = bytes(line)
            uid, size = _UID.search(data), _SIZE.search(data)
            if uid and size and int(uid.group(1)) > last_uid:
                found[int(uid.group(1))] = int(size.group(1))
        return sorted(found.items())

    async def fetch(self, uid: int, *, headers_only: bool = False, within: float = 300.0) -> bytes:
        section = "BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]"
        resp = await self._call(self._require().uid("fetch", str(uid), f"(UID {section})"), within=within)
        if resp.result != "OK":
            raise ImapError(f"UID FETCH {uid} failed: {_text(resp.lines)}")
        lines = resp.lines
        for i, line in enumerate(lines[:-1]):
            if isinstance(line, bytes) and b"FETCH" in line and _LITERAL.search(line):
                owner = _UID.search(line)  # UID comes before the literal, or in the line that closes it
                if owner is None and i + 2 < len(lines) and isinstance(lines[i + 2], bytes):
                    owner = _UID.search(lines[i + 2])
                if owner is None or int(owner.group(1)) == uid:
                    return bytes(lines[i + 1])
        raise ImapError(f"message {uid} is gone (expunged by another client?)")

    # -- writing ---------------------------------------------------------------------------------
    async def mark_processed(self, uid: int, processed_folder: str | None) -> None:
        """``\\Seen``, or moved to ``processed_folder`` (COPY + delete where MOVE is missing)."""
        client = self._require()
        if processed_folder:
            target = _quote(processed_folder)
            if client.has_capability("MOVE"):
                resp = await self._call(client.uid("move", str(uid), target))
                self._ok(resp, f"UID MOVE {uid}")
                return
            self._ok(await self._call(client.uid("copy", str(uid), target)), f"UID COPY {uid}")
            self._ok(await self._call(client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen \Deleted)")),
                     f"UID STORE {uid}")
            if client.has_capability("UIDPLUS"):
                self._ok(await self._call(client.uid("expunge", str(uid))), f"UID EXPUNGE {uid}")
            return
        self._ok(await self._call(client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)")), f"UID STORE {uid}")

    # -- waiting ---------------------------------------------------------------------------------
    @property
    def supports_idle(self) -> bool:
        return self._require().has_capability("IDLE")

    async def wait_for_mail(self, within: float) -> bool:
        """IDLE until the server reports new mail (True) or ``within`` seconds pass (False)."""
        client = self._require()
        if self.new_mail:  # reported while we were busy: no need to wait for it
            return True
        idle = await self._call(client.idle_start(timeout=within + 60))
        woke = False
        try:
            deadline = asyncio.get_running_loop().time() + within
            while not woke:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    push = await self._call(client.wait_server_push(timeout=remaining), within=remaining + 1)
                except TimeoutError:
                    break
                if push == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break
                lines = [bytes(line) for line in push]
                if any(line.startswith(b"BYE") for line in lines):
                    raise ImapError(f"server closed the connection: {_text(lines)}")
                woke = any(_EXISTS.match(line) for line in lines)
        finally:
            if not self._lost.is_set() and client.has_pending_idle():
                client.idle_done()
                with contextlib.suppress(Exception):
                    await self._call(asyncio.shield(idle), within=10)
        return woke

    async def noop(self) -> bool:
        """A poll for servers without IDLE; True when it reports messages."""
        resp = await self._call(self._require().noop())
        return any(_EXISTS.match(bytes(line)) for line in resp.lines)

    # -- plumbing --------------------------------------------------------------------------------
    def _require(self) -> aioimaplib.IMAP4:
        if self._client is None:
            raise ImapError("not connected")
        return self._client

    async def _call(self, aw: Awaitable[T], within: float | None = None) -> T:
        """Runs one command, failing fast when the connection drops instead of hanging on it."""
        if self._lost.is_set():
            raise ImapError("connection lost")
        task: asyncio.Future[T] = asyncio.ensure_future(aw)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, timeout=within or self.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # we were cancelled: the command must not outlive us unobserved
            task.cancel()
            raise
        finally:
            lost.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        if self._lost.is_set():
            raise ImapError("connection lost")
        raise TimeoutError(f"IMAP command did not answer within {within or self.timeout}s")

    @staticmethod
    def _ok(resp: Any, what: str) -> None:
        if resp.result != "OK":
            raise ImapError(f"{what} failed: {_text(resp.lines)}")


def _quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(lines: list[Any]) -> str:
    return " | ".join(bytes(line).decode("utf-8", "replace") for line in lines if len(line) < 500)[:500]
