"""Attachment files: checked (size, count, real type) before they are stored, served only as safe.

The sniffed type, never the declared one or the file name, decides how a file is served: the four
raster image types inline with their real type; everything else as a download of opaque bytes, so an
HTML or SVG file (even one named ``.png``) can never run script in an origin we serve.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from store import sniffing

INLINE_TYPES = frozenset({sniffing.PNG, sniffing.JPEG, sniffing.GIF, sniffing.WEBP})
REFUSED_TYPES = frozenset({sniffing.EXECUTABLE})
REFUSED_EXTENSIONS = frozenset({
    "exe", "dll", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "cpl", "jar", "js", "jse", "vbs", "vbe",
    "wsf", "wsh", "ps1", "psm1", "hta", "lnk", "reg", "sh", "app", "apk", "dmg",
})
_UNSAFE_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_per_message: int = 10


DEFAULT_LIMITS = Limits()

class AttachmentRejected(ValueError):
    """A file we will not store; ``status`` is the HTTP status an upload answers with."""

    def __init__(self, field: str, status: int, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    tenant_id: int
    conversation_id: int | None
    message_id: int | None
    uploader: str
    filename: str
    declared_type: str
    sniffed_type: str
    size: int

    def meta(self) -> dict[str, Any]:
        """What a message's ``attachments`` column and the APIs show; never the bytes."""
        return {"id": self.id, "name": self.filename, "content_type": self.sniffed_type, "size": self.size,
                "inline": self.sniffed_type in INLINE_TYPES}


class ChunkReader(Protocol):
    """An upload stream (aiohttp's ``BodyPartReader``); the store stays free of HTTP libraries."""

    async def read_chunk(self, size: int = ...) -> bytes: ...


async def read_limited(part: ChunkReader, limits: Limits, *, field: str = "file") -> bytes:
    """The upload's bytes, giving up as soon as it passes the limit instead of buffering all of it."""
    chunks: list[bytes] = []
    total = 0
    while chunk := await part.read_chunk(65536):
        total += len(chunk)
        if total > limits.max_bytes:
            raise AttachmentRejected(field, 413, f"larger than {limits.max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def clean_filename(name: str | None) -> str:
    """A name safe in a header and on disk: no path, no controls or quotes, at most 255 characters."""
    name = unicodedata.normalize("NFC", (name or "").encode("utf-8", "replace").decode("utf-8"))
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip().lstrip(".")
    name = re.sub(r"\s+", " ", name)
    return name[-255:] or "file"


def check(filename: str, content: bytes, limits: Limits, *, field: str = "file") -> str:
    """The sniffed type of an acceptable file; raises ``AttachmentRejected`` naming ``field``."""
    if len(content) > limits.max_bytes:
        raise AttachmentRejected(field, 413, f"{len(content)} bytes, at most {limits.max_bytes} allowed")
    if not content:
        raise AttachmentRejected(field, 422, "the file is empty")
    kind = sniffing.sniff(content)
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if kind in REFUSED_TYPES or ext in REFUSED_EXTENSIONS:
        raise AttachmentRejected(field, 415, "executable files are not accepted")
    return kind


def precheck(filename: str | None, declared_size: int, limits: Limits) -> str | None:
    """Why ``check`` would refuse a file, judged from its name and declared size alone.

    A channel that has to fetch a file (Slack) asks first, so a 2 GB video or an ``.exe`` is never
    downloaded only to be refused; bytes that are fetched still go through ``check``. The wording is
    ``check``'s, so agents read one reason whichever channel the file came from.
    """
    if declared_size > limits.max_bytes:
        return f"{declared_size} bytes, at most {limits.max_bytes} allowed"
    name = clean_filename(filename)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in REFUSED_EXTENSIONS:
        return "executable files are not accepted"
    return None


def download_headers(att: Attachment) -> tuple[str, dict[str, str]]:
    """(Content-Type, headers) to serve ``att``: images inline, anything else an opaque download.

    ``nosniff`` stops the browser guessing past our type; the sandbox CSP keeps even a mistakenly
    rendered document from running script or loading anything.
    """
    inline = att.sniffed_type in INLINE_TYPES
    ascii_name = att.filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(att.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, max-age=3600",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    return (att.sniffed_type if inline else sniffing.OCTET), headers


_COLUMNS = "id, tenant_id, conversation_id, message_id, uploader, filename, declared_type, sniffed_type, size"


def _row(row: dict[str, Any]) -> Attachment:
    return Attachment(**{k: row[k] for k in Attachment.__slots__})


async def add(conn: AsyncConnection[Any], tenant_id: int, *, uploader: str, filename: str | None,
              declared_type: str | None, content: bytes, limits: Limits, conversation_id: int | None = None,
              message_id: int | None = None, field: str = "file") -> Attachment:
    name = clean_filename(filename)
    kind = check(name, content, limits, field=field)
    declared = re.sub(r"[^\x20-\x7e]", "", declared_type or "").strip()[:255] or sniffing.OCTET
    cur = await conn.execute(
        "INSERT INTO attachments (tenant_id, conversation_id, message_id, uploader, filename, declared_type,"
        f" sniffed_type, size, sha256, content) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
        (tenant_id, conversation_id, message_id, uploader[:100], name, declared, kind, len(content),
         hashlib.sha256(content).digest(), content))
    row = await cur.fetchone()
    assert row is not None
    return _row(row)


async def count_recent_uploads(conn: AsyncConnection[Any], tenant_id: int, uploader: str, seconds: float) -> int:
    cur = await conn.execute(
        "SELECT count(*) AS n FROM attachments WHERE tenant_id = %s AND uploader = %s"
        " AND created_at > now() - make_interval(secs => %s)", (tenant_id, uploader, seconds))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def link(conn: AsyncConnection[Any], tenant_id: int, ids: Sequence[int], *, uploader: str,
               conversation_id: int, message_id: int, field: str = "attachment_ids") -> list[Attachment]:
    """Attach the uploader's own not-yet-sent uploads to a message; any other id is refused whole."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    cur = await conn.execute(
        "UPDATE attachments SET conversation_id = %s, message_id = %s"
        " WHERE tenant_id = %s AND id = ANY(%s) AND uploader = %s AND message_id IS NULL"
        f" RETURNING {_COLUMNS}", (conversation_id, message_id, tenant_id, wanted, uploader))
    rows = {r["id"]: _row(r) for r in await cur.fetchall()}
    if len(rows) != len(wanted):
        raise AttachmentRejected(field, 422, "unknown, already sent or someone else's upload")
    return [rows[i] for i in wanted]


async def send_with(conn: AsyncConnection[Any], tenant_id: int, ids: Sequence[int], *, uploader: str,
                    conversation_id: int, message_id: int) -> list[Attachment]:
    """Links uploads to an outgoing message and lists them on it (what console and channels show)."""
    linked = await link(conn, tenant_id, ids, uploader=uploader, conversation_id=conversation_id,
                        message_id=message_id)
    if linked:
        await conn.execute("UPDATE messages SET attachments = attachments || %s WHERE tenant_id = %s AND id = %s",
                           (Jsonb([a.meta() for a in linked]), tenant_id, message_id))
    return linked


async def unsent(conn: AsyncConnection[Any], tenant_id: int, ids: Sequence[int], uploader: str) -> bool:
    """Whether every id is an upload of ``uploader`` not yet sent with a message."""
    wanted = list(dict.fromkeys(ids))
    cur = await conn.execute("SELECT count(*) AS n FROM attachments WHERE tenant_id = %s AND id = ANY(%s)"
                             " AND uploader = %s AND message_id IS NULL", (tenant_id, wanted, uploader))
    row = await cur.fetchone()
    return row is not None and row["n"] == len(wanted)


async def get(conn: AsyncConnection[Any], tenant_id: int, attachment_id: int) -> tuple[Attachment, bytes] | None:
    cur = await conn.execute(f"SELECT {_COLUMNS}, content FROM attachments WHERE tenant_id = %s AND id = %s",
                             (tenant_id, attachment_id))
    row = await cur.fetchone()
    return (_row(row), bytes(row["content"])) if row else None


async def for_message(conn: AsyncConnection[Any], tenant_id: int, message_id: int) -> list[tuple[Attachment, bytes]]:
    cur = await conn.execute(f"SELECT {_COLUMNS}, content FROM attachments WHERE tenant_id = %s AND message_id = %s"
                             " ORDER BY id", (tenant_id, message_id))
    return [(_row(r), bytes(r["content"])) for r in await cur.fetchall()]

