"""What a file really is, from its first bytes, whatever its name or declared type claims.

A small table of magic numbers instead of a library: the set we act on is short (images shown
inline, markup that must never render, executables refused), libmagic is a native dependency, and
``filetype``/``puremagic`` do not tell HTML or SVG apart from text, which is the case that matters.
"""

from __future__ import annotations

import re

PNG, JPEG, GIF, WEBP = "image/png", "image/jpeg", "image/gif", "image/webp"
PDF, ZIP, TEXT, HTML, SVG, XML = ("application/pdf", "application/zip", "text/plain", "text/html",
                                  "image/svg+xml", "application/xml")
OCTET = "application/octet-stream"
EXECUTABLE = "application/x-executable"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"%PDF-", PDF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
    (b"MZ", EXECUTABLE),  # Windows PE
    (b"\x7fELF", EXECUTABLE),
    (b"\xcf\xfa\xed\xfe", EXECUTABLE),  # Mach-O
    (b"\xfe\xed\xfa\xce", EXECUTABLE),
    (b"\xca\xfe\xba\xbe", EXECUTABLE),  # Mach-O universal / Java class
    (b"#!", EXECUTABLE),  # scripts
)
# Tags a browser's own sniffer (WHATWG MIME sniffing) takes as HTML, anywhere near the start.
_HTML_MARKERS = re.compile(rb"<(?:!doctype\s+html|html|head|body|script|iframe|style|title|img|a\s|div|"
                           rb"table|font|br|p[\s>]|h1|object|embed|meta|link|form|!--)", re.IGNORECASE)
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def sniff(data: bytes) -> str:
    """The content type of ``data`` by its bytes; markup wins over text so it is never shown inline."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    head = data[:4096]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    if b"\x00" in head and not _utf16(head):
        return OCTET
    if _SVG.search(head) or _SVG.search(_utf16_ascii(head)):
        return SVG
    if _HTML_MARKERS.search(head) or _HTML_MARKERS.search(_utf16_ascii(head)):
        return HTML
    if head.lstrip().startswith(b"<?xml"):
        return XML
    try:
        data[:65536].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(data[:65536]) - 3:  # a character cut at the sample's end is still text
            return OCTET
    return TEXT


def _utf16(head: bytes) -> bool:
    return head.count(b"\x00") >= len(head) // 3


def _utf16_ascii(head: bytes) -> bytes:
    """UTF-16 markup read as ASCII (drop the zero bytes), so ``<\\0s\\0v\\0g\\0`` is caught too."""
    return head.replace(b"\x00", b"") if _utf16(head) else b""
