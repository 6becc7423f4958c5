"""Attachments: real types by their bytes, limits, and email parts stored through ingest."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest
from psycopg_pool import AsyncConnectionPool

from channels import email_mime
from gateway.ingest import ingest
from store import attachments, sniffing
from store.tenants import Tenant


def png_bytes() -> bytes:
    """A real 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


@pytest.mark.parametrize(("data", "kind"), [
    (png_bytes(), sniffing.PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", sniffing.JPEG),
    (b"GIF89a\x01\x00", sniffing.GIF),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", sniffing.WEBP),
    (b"%PDF-1.7\n", sniffing.PDF),
    (b"PK\x03\x04rest", sniffing.ZIP),
    (b"plain words, nothing else\n", sniffing.TEXT),
    (HTML, sniffing.HTML),
    (b"   \n<p>hi</p>", sniffing.HTML),
    (b"\xef\xbb\xbf<svg viewBox='0 0 1 1'></svg>", sniffing.SVG),
    (SVG, sniffing.SVG),
    ("<html><script>x</script>".encode("utf-16"), sniffing.HTML),
    (b"<?xml version='1.0'?><a/>", sniffing.XML),
    (b"MZ\x90\x00", sniffing.EXECUTABLE),
    (b"\x7fELF\x02", sniffing.EXECUTABLE),
    (b"#!/bin/sh\nrm -rf /", sniffing.EXECUTABLE),
    (bytes(range(256)), sniffing.OCTET),
])
def test_sniff_by_bytes(data: bytes, kind: str) -> None:
    assert sniffing.sniff(data) == kind


def test_html_named_png_is_never_inline() -> None:
    att = attachments.Attachment(1, 1, None, None, "x", "cat.png", "image/png", sniffing.sniff(HTML), len(HTML))
    ctype, headers = attachments.download_headers(att)
    assert ctype == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


@pytest.mark.parametrize(("name", "clean"), [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\x\\evil.pdf", "evil.pdf"), ('a"b;c.txt', "a_b_c.txt"),
    (".htaccess", "htaccess"), ("", "file"), ("bad\udcff\x00.txt", "bad_.txt"), ("x\r\nSet-Cookie: a=b.txt", "x_Set-Cookie_ a=b.txt"),
])
def test_filenames_are_cleaned(name: str, clean: str) -> None:
    assert attachments.clean_filename(name) == clean


def test_limits_name_the_field() -> None:
    limits = attachments.Limits(max_bytes=1024)
    with pytest.raises(attachments.AttachmentRejected) as too_big:
        attachments.check("a.txt", b"x" * 1025, limits)
    assert (too_big.value.status, too_big.value.field) == (413, "file")
    with pytest.raises(attachments.AttachmentRejected) as exe:
        attachments.check("setup.pdf", b"MZ\x90\x00", limits)
    assert exe.value.status == 415
    with pytest.raises(attachments.AttachmentRejected):
        attachments.check("run.bat", b"echo hi", limits)


def mail_with_parts(*parts: tuple[str, str, bytes]) -> bytes:
    out = [b"From: Ann <ann@customer.test>\r\nTo: help@acme.test\r\nSubject: scan\r\n"
           b"Message-ID: <att-1@customer.test>\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
           b"--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"]
    for name, ctype, data in parts:
        out.append(f"--XX\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\n"
                   f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'.encode()
                   + base64.encodebytes(data).replace(b"\n", b"\r\n") + b"\r\n")
    out.append(b"--XX--\r\n")
    return b"".join(out)


async def test_email_attachments_are_stored_through_ingest(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    raw = mail_with_parts(("shot.png", "image/png", png_bytes()), ("page.png", "image/png", HTML),
                          ("tool.exe", "application/octet-stream", b"MZ\x90\x00" * 10))
    msg = email_mime.parse(raw, tenant_id=tenant.id)
    result = await ingest(pool, msg)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT attachments FROM messages WHERE tenant_id = %s AND id = %s",
                                 (tenant.id, result.message_id))
        metas = (await cur.fetchone())["attachments"]
        assert [(m["name"], m["content_type"], m.get("inline"), "rejected" in m) for m in metas] == [
            ("shot.png", "image/png", True, False),
            ("page.png", "text/html", False, False),
            ("tool.exe", "application/octet-stream", None, True),
        ]
        stored = await attachments.for_message(conn, tenant.id, result.message_id)
    assert [(a.filename, a.sniffed_type, a.conversation_id, data) for a, data in stored] == [
        ("shot.png", "image/png", result.conversation_id, png_bytes()),
        ("page.png", "text/html", result.conversation_id, HTML),
    ]


async def test_email_over_the_count_keeps_the_rest_listed(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    raw = mail_with_parts(*[(f"n{i}.txt", "text/plain", b"note %d" % i) for i in range(3)])
    result = await ingest(pool, email_mime.parse(raw, tenant_id=tenant.id), attachments.Limits(max_per_message=2))
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT attachments FROM messages WHERE tenant_id = %s AND id = %s",
                                 (tenant.id, result.message_id))
        metas = (await cur.fetchone())["attachments"]
        assert [m.get("rejected") for m in metas] == [None, None, "more than 2 files"]
        assert len(await attachments.for_message(conn, tenant.id, result.message_id)) == 2
