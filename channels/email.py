"""The email channel: IMAP pollers in (one per mailbox, held by a lease), SMTP out (``EmailSender``).

Inbound, per mailbox: take the lease → connect → check UIDVALIDITY → fetch UIDs above the stored
``last_uid`` one message at a time → parse (``email_mime``) → ingest → only then advance
``last_uid`` and mark the message ``\\Seen`` (or move it). A crash anywhere re-fetches at most the
message in flight, and ingest deduplicates it by Message-ID. Then IDLE (or poll) until new mail,
renewing the lease on every wake-up; any error closes the connection and retries with backoff.

A message the pipeline refuses (no usable sender at all) or that keeps failing is skipped after a
few tries with the reason recorded on the mailbox, so one bad message never stalls the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from channels import email_mime
from channels.email_imap import FolderStatus, ImapError, ImapSession
from channels.email_smtp import EmailSender, own_message_domain
from channels.ports import Ingest
from store import mailboxes
from store.mailboxes import Mailbox
from store.models import ClaimSource, IdentityClaim, IdentityKind, InboundMessage, ThreadHint

log = logging.getLogger("switchboard.email")

MAX_TEXT_CHARS = 100_000  # what ingest accepts; longer bodies are clipped, the raw size is kept
MAX_SUBJECT_CHARS = 998
ATTEMPTS_PER_MESSAGE = 3

__all__ = ["EmailSender", "ImapPollers", "MailboxPoller", "inbound_message"]


class LeaseLost(Exception):
    """Another poller holds this mailbox now; stop touching it."""


def inbound_message(raw: bytes, mailbox: Mailbox, *, uid: int | None = None, size: int | None = None,
                    headers_only: bool = False, max_bytes: int = email_mime.DEFAULT_MAX_BYTES) -> InboundMessage:
    """Bytes from the mailbox → what ingest takes: parsed, threaded by headers and subject tag, clipped.

    ``headers_only`` is set for mail over ``max_bytes``: only its header block was fetched.
    """
    msg = email_mime.parse(raw, tenant_id=mailbox.tenant_id, max_bytes=max_bytes,
                           own_domains=(own_message_domain(mailbox),))
    extra: dict[str, Any] = {"mailbox_id": mailbox.id, "uid": uid}
    flags = set(msg.flags)
    if headers_only:
        flags.add(email_mime.FLAG_OVERSIZED)
        extra.update(size=size, reason=f"message is {size} bytes, limit is {max_bytes}")
    claims = msg.claims or _fallback_claims(msg, raw)
    tag = email_mime.conversation_tag(msg.subject)
    thread = ThreadHint(conversation_id=tag, keys=msg.thread.keys, new_key=msg.thread.new_key)
    headers = msg.raw.get("headers") or {}
    if "body" in msg.raw:
        extra["body"] = _no_nul(str(msg.raw["body"]))
    return dataclasses.replace(
        msg, external_id=_storable(msg.external_id),
        claims=tuple(dataclasses.replace(c, value=_storable(c.value), display_name=_storable(c.display_name))
                     for c in claims),
        thread=dataclasses.replace(thread, keys=_storable(thread.keys), new_key=_storable(thread.new_key)),
        text=_no_nul(msg.text)[:MAX_TEXT_CHARS],
        subject=_no_nul(msg.subject)[:MAX_SUBJECT_CHARS] if msg.subject else None,
        attachments=_storable(msg.attachments), raw=_storable({**msg.raw, **extra}), flags=tuple(sorted(flags)),
        received_at=_date(headers.get("date")),
    )


def _no_nul(text: str) -> str:
    """PostgreSQL text and jsonb cannot hold NUL, nor unpaired surrogates (undecodable header bytes
    come out of the parser as surrogate escapes); garbled mail carries both."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _storable(value: Any) -> Any:
    """``_no_nul`` through every string of a header-derived value, so the store never refuses a mail."""
    if isinstance(value, str):
        return _no_nul(value)
    if isinstance(value, dict):
        return {_no_nul(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_storable(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _storable(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value


def _fallback_claims(msg: InboundMessage, raw: bytes) -> tuple[IdentityClaim, ...]:
    """Mail with no readable sender is still stored (flagged) for agents, as its own unknown sender.

    One placeholder per message, never shared, so two unreadable mails are never threaded together.
    """
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return (IdentityClaim(IdentityKind.EMAIL, f"unknown-sender-{digest}@invalid", ClaimSource.EMAIL_FROM),)


def _date(value: str | None) -> datetime:
    """The Date header when it is sane; a missing, garbled or future date is replaced by now."""
    now = datetime.now(UTC)
    if not value:
        return now
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return now
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return now if when > now else when


class MailboxPoller:
    """Polls one mailbox for as long as it runs, whenever it holds the mailbox's lease."""

    def __init__(self, pool: AsyncConnectionPool, mailbox: Mailbox, ingest: Ingest, *, owner: str | None = None,
                 lease_seconds: float = 60.0, max_backoff: float = 60.0, idle_seconds: float | None = None,
                 max_bytes: int = email_mime.DEFAULT_MAX_BYTES, imap_timeout: float = 30.0) -> None:
        self.pool = pool
        self.mailbox = mailbox
        self.ingest = ingest
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        # Wake at least this often to renew the lease (and notice a silently dead connection).
        self.idle_seconds = idle_seconds or lease_seconds / 3
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.imap_timeout = imap_timeout
        self.fetched = 0  # messages this poller downloaded (tests prove no double fetch with it)
        self.stored = 0  # of those, committed and marked processed
        self.passes = 0  # completed checks for new mail (tests wait on these instead of sleeping)
        self.connected = asyncio.Event()
        self._failures: dict[int, int] = {}

    async def run(self) -> None:
        backoff = 1.0
        try:
            while True:
                try:
                    if not await self._lease():  # another process polls this mailbox: stand by
                        await asyncio.sleep(self.idle_seconds * random.uniform(0.8, 1.2))
                        continue
                    await self._session()
                except asyncio.CancelledError:
                    raise
                except LeaseLost:
                    self.connected.clear()
                    log.info("lost the lease on mailbox %s", self.mailbox.id)
                    continue
                except Exception as exc:
                    if self.connected.is_set():  # it had been working: this is a fresh outage, retry soon
                        backoff = 1.0
                    self.connected.clear()
                    log.warning("mailbox %s: %s: %s", self.mailbox.id, type(exc).__name__, exc)
                    with contextlib.suppress(Exception):
                        async with self.pool.connection() as conn:
                            await mailboxes.record_error(conn, self.mailbox.tenant_id, self.mailbox.id,
                                                         f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                    backoff = min(self.max_backoff, backoff * 2)
                    continue
                backoff = 1.0
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5), self.pool.connection() as conn:
                    await mailboxes.release_lease(conn, self.mailbox.tenant_id, self.mailbox.id, self.owner)

    async def _lease(self) -> bool:
        async with self.pool.connection() as conn:
            return await mailboxes.acquire_lease(conn, self.mailbox.tenant_id, self.mailbox.id, self.owner,
                                                 self.lease_seconds)

    async def _session(self) -> None:
        mb = self.mailbox
        password = os.environ.get(mb.imap_password_env)
        if password is None:
            raise ImapError(f"environment variable {mb.imap_password_env} (IMAP password) is not set")
        session = ImapSession(mb.imap_host, mb.imap_port, mb.imap_security, timeout=self.imap_timeout)
        try:
            status = await session.open(mb.imap_username, password, mb.folder)
            await self._check_uidvalidity(status)
            self.connected.set()
            while True:
                await self._drain(session)
                if session.supports_idle:
                    await session.wait_for_mail(self.idle_seconds)
                else:
                    await asyncio.sleep(min(mb.poll_seconds, self.idle_seconds))
                    await session.noop()
                if not await self._lease():
                    raise LeaseLost()
        finally:
            await session.close()

    async def _check_uidvalidity(self, status: FolderStatus) -> None:
        async with self.pool.connection() as conn:
            stored = await mailboxes.state(conn, self.mailbox.tenant_id, self.mailbox.id)
            if stored.uidvalidity == status.uidvalidity:
                return
            if stored.uidvalidity is not None:
                log.warning("mailbox %s: UIDVALIDITY changed %s → %s; resyncing (deduplicated by Message-ID)",
                            self.mailbox.id, stored.uidvalidity, status.uidvalidity)
            if not await mailboxes.reset_uidvalidity(conn, self.mailbox.tenant_id, self.mailbox.id, self.owner,
                                                     status.uidvalidity):
                raise LeaseLost()

    async def _drain(self, session: ImapSession) -> None:
        """Everything new, oldest first; each message is committed before the next is fetched."""
        async with self.pool.connection() as conn:
            last_uid = (await mailboxes.state(conn, self.mailbox.tenant_id, self.mailbox.id)).last_uid
        for uid, size in await session.uids_after(last_uid):
            if not await self._lease():  # renewed per message: a long backlog must not outlive the lease
                raise LeaseLost()
            headers_only = size > self.max_bytes
            raw = await session.fetch(uid, headers_only=headers_only)
            self.fetched += 1
            msg = inbound_message(raw, self.mailbox, uid=uid, size=size, headers_only=headers_only,
                                  max_bytes=self.max_bytes)
            await self._ingest(uid, msg)
            async with self.pool.connection() as conn:
                if not await mailboxes.advance(conn, self.mailbox.tenant_id, self.mailbox.id, self.owner, uid):
                    raise LeaseLost()
            await session.mark_processed(uid, self.mailbox.processed_folder)
            self.stored += 1
        self.passes += 1

    async def _ingest(self, uid: int, msg: InboundMessage) -> None:
        """Ingest; a message the store refuses for what it *is* is skipped (and recorded), never retried forever.

        Errors of the system (database down) propagate: the poller backs off and the message waits.
        """
        try:
            await self.ingest(msg)
        except (ValueError, psycopg.DataError, psycopg.IntegrityError) as exc:
            tries = self._failures[uid] = self._failures.get(uid, 0) + 1
            if tries < ATTEMPTS_PER_MESSAGE and not isinstance(exc, ValueError):
                raise
            log.error("mailbox %s: skipping UID %s (%s): %s", self.mailbox.id, uid, msg.external_id, exc)
            async with self.pool.connection() as conn:
                await mailboxes.record_error(conn, self.mailbox.tenant_id, self.mailbox.id,
                                             f"skipped UID {uid} {msg.external_id}: {type(exc).__name__}: {exc}")
        self._failures.pop(uid, None)


class ImapPollers:
    """Keeps one ``MailboxPoller`` running per enabled mailbox, reloading the list from the store.

    Every worker process runs one of these; the leases decide which process actually polls.
    """

    def __init__(self, pool: AsyncConnectionPool, ingest: Ingest, *, reload_seconds: float = 30.0,
                 **poller_options: Any) -> None:
        self.pool = pool
        self.ingest = ingest
        self.reload_seconds = reload_seconds
        self.poller_options = poller_options
        self.pollers: dict[int, tuple[Mailbox, MailboxPoller, asyncio.Task[None]]] = {}

    async def reload(self) -> None:
        async with self.pool.connection() as conn:
            wanted = {mb.id: mb for mb in await mailboxes.all_enabled(conn)}
        for mailbox_id, (mb, _poller, task) in list(self.pollers.items()):
            if wanted.get(mailbox_id) != mb or task.done():  # removed, disabled, edited or crashed
                await _stop(task)
                del self.pollers[mailbox_id]
        for mailbox_id, mb in wanted.items():
            if mailbox_id not in self.pollers:
                poller = MailboxPoller(self.pool, mb, self.ingest, **self.poller_options)
                task = asyncio.create_task(poller.run(), name=f"imap:{mb.tenant_id}:{mb.id}")
                self.pollers[mailbox_id] = (mb, poller, task)

    async def run_forever(self) -> None:
        try:
            while True:
                try:
                    await self.reload()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("reloading mailboxes failed")
                await asyncio.sleep(self.reload_seconds)
        finally:
            for _mb, _poller, task in self.pollers.values():
                await _stop(task)
            self.pollers.clear()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ImapPollers]:
        task = asyncio.create_task(self.run_forever(), name="imap-pollers")
        try:
            yield self
        finally:
            await _stop(task)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
