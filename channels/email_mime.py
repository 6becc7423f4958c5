"""Inbound mail (RFC 5322 bytes) to an ``InboundMessage``, without any network.

``channels/email.py`` (IMAP/SMTP) fetches bytes and hands them here; everything that can be decided
from the bytes alone lives in this module so it can be tested exhaustively.

Rules that shape the code:

* **Never raise.** One undecodable message must not stall a mailbox poller, so every failure becomes
  an ``InboundMessage`` flagged ``malformed`` (reason in ``raw["reason"]``) and is stored, not
  answered. Charsets we do not know decode as UTF-8 or windows-1252 with replacement characters.
* **Never hold more than we must.** Mail over ``max_bytes`` is flagged ``oversized`` from its header
  block alone; bodies are never decoded for it. Attachments carry their decoded bytes; ingest checks and stores them.
* **Flag, don't drop, noise.** Auto-replies, bulk/list mail, bounces and our own messages coming
  back would otherwise start reply loops; they are stored with a flag so agents still see them.
* **Who is the customer.** The address replies go to (``raw["reply_address"]``: Reply-To when
  present, else From) is the one claim, so the customer a mail threads into is always the one who
  reads our answer. Were From the claim, a mail spoofing From: B with Reply-To: the attacker would
  thread into B's conversation and send B's subject and name to the attacker; and a second address
  in one mail linking to the customer would make it an address B's later replies go to. The From
  header stays in ``raw["headers"]`` for agents.

HTML-only mail becomes text here (block tags to line breaks, ``<blockquote>`` to ``>`` quotes), so
that the quote stripper in ``channels.email_quotes`` can see where the customer's words end.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser

from channels.email_quotes import visible_reply
from store.models import (
    AttachmentMeta,
    Channel,
    ClaimSource,
    IdentityClaim,
    IdentityKind,
    InboundMessage,
    ThreadHint,
)

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
HEADER_SCAN_BYTES = 256 * 1024  # oversized mail: the header block must end within this prefix

FLAG_AUTO_REPLY = "auto_reply"
FLAG_BULK = "bulk"
FLAG_BOUNCE = "bounce"
FLAG_OWN_MESSAGE = "own_message"
FLAG_OVERSIZED = "oversized"
FLAG_MALFORMED = "malformed"

HEADERS_OF_INTEREST = (
    "message-id", "in-reply-to", "references", "from", "reply-to", "to", "cc", "date", "subject",
    "auto-submitted", "precedence", "list-id", "list-unsubscribe", "x-autoreply", "x-autorespond",
    "content-type", "return-path",
)

_TAG = re.compile(r"\[#(\d{1,18})\]")
_MSGID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_BARE_MSGID = re.compile(r"[^<>\s@]+@[^<>\s@]+")
_OOO_SUBJECT = re.compile(
    r"^\s*(\[[^\]]*\]\s*)?((re|aw|fw|fwd|wg|tr|rv|sv|antw)\s*:\s*)*"
    r"(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|autoresponder"
    r"|abwesenheitsnotiz|abwesenheit|automatische antwort|réponse automatique|reponse automatique"
    r"|absence du bureau|respuesta automática|respuesta automatica|fuera de la oficina"
    r"|risposta automatica|fuori sede|automatisch antwoord|afwezigheidsbericht|resposta automática"
    r"|autosvar|frånvaro)\b",
    re.IGNORECASE,
)
_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon"})
_NOREPLY_LOCALPART = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|notifications?|mailer|bounces?)([-+].*)?$")
_UNKNOWN_CHARSETS = frozenset({"unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined"})


def conversation_tag(subject: str | None) -> int | None:
    """The conversation number our own outbound subjects carry as ``[#1234]``, if present."""
    if not subject:
        return None
    match = _TAG.search(subject)
    return int(match.group(1)) if match else None


def normalize_message_id(value: str | None) -> str | None:
    """``<id@host>`` form of one Message-ID, tolerant of missing brackets and stray whitespace."""
    ids = message_ids(value)
    return ids[0] if ids else None


def message_ids(value: str | None) -> tuple[str, ...]:
    """All message ids in an In-Reply-To/References value, normalized, in order, without repeats."""
    if not value:
        return ()
    found = [f"<{m}>" for m in _MSGID.findall(value)]
    if not found:
        found = [f"<{m}>" for m in _BARE_MSGID.findall(value)]
    return tuple(dict.fromkeys(found))


def synthetic_message_id(raw: bytes) -> str:
    """Stable id for mail without a Message-ID, so a re-fetched copy still deduplicates."""
    return f"<{hashlib.sha256(raw).hexdigest()}@sha256.switchboard.invalid>"


def parse(
    raw: bytes,
    *,
    tenant_id: int,
    max_bytes: int = DEFAULT_MAX_BYTES,
    own_domains: tuple[str, ...] = (),
) -> InboundMessage:
    """Parse one message; oversized or broken mail comes back flagged instead of raising."""
    try:
        if len(raw) > max_bytes:
            return _oversized(raw, tenant_id=tenant_id, max_bytes=max_bytes, own_domains=own_domains)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        return _build(message, raw, tenant_id=tenant_id, own_domains=own_domains)
    except Exception as exc:  # last line of defence: the poller must move on to the next message
        return InboundMessage(
            tenant_id=tenant_id,
            channel=Channel.EMAIL,
            external_id=synthetic_message_id(raw),
            claims=(),
            text="",
            raw={"reason": f"unparseable: {type(exc).__name__}: {exc}"[:500], "size": len(raw)},
            flags=(FLAG_MALFORMED,),
        )


def _build(message: Message, raw: bytes, *, tenant_id: int, own_domains: tuple[str, ...]) -> InboundMessage:
    headers = _headers(message)
    body, attachments = _body_and_attachments(message)
    claims, reply_address = _claims(message)
    flags = _noise_flags(message, headers, claims, own_domains)
    extra: dict[str, object] = {}
    if not claims:
        flags.add(FLAG_MALFORMED)
        extra["reason"] = "no sender address in From or Reply-To"
    return InboundMessage(
        tenant_id=tenant_id,
        channel=Channel.EMAIL,
        external_id=normalize_message_id(headers.get("message-id")) or synthetic_message_id(raw),
        claims=claims,
        text=visible_reply(body),
        thread=_thread_hint(headers),
        subject=headers.get("subject") or None,
        attachments=attachments,
        raw={
            "body": body,
            "headers": headers,
            "reply_address": reply_address,
            "size": len(raw),
            "defects": sorted({type(d).__name__ for part in message.walk() for d in part.defects}),
            **extra,
        },
        flags=tuple(sorted(flags)),
    )


def _oversized(raw: bytes, *, tenant_id: int, max_bytes: int, own_domains: tuple[str, ...]) -> InboundMessage:
    """Only the header block is parsed: enough to dedupe, thread, name the sender and spot noise."""
    head = raw[:HEADER_SCAN_BYTES]
    end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=len(head))
    message = BytesHeaderParser(policy=policy.default).parsebytes(head[:end] + b"\r\n\r\n")
    headers = _headers(message)
    claims, reply_address = _claims(message)
    flags = _noise_flags(message, headers, claims, own_domains) | {FLAG_OVERSIZED}
    return InboundMessage(
        tenant_id=tenant_id,
        channel=Channel.EMAIL,
        external_id=normalize_message_id(headers.get("message-id")) or synthetic_message_id(raw),
        claims=claims,
        text="",
        thread=_thread_hint(headers),
        subject=headers.get("subject") or None,
        raw={
            "headers": headers,
            "reply_address": reply_address,
            "size": len(raw),
            "reason": f"message is {len(raw)} bytes, limit is {max_bytes}",
        },
        flags=tuple(sorted(flags)),
    )


# --- headers ---------------------------------------------------------------------------------


def _header(message: Message, name: str) -> str | None:
    """Decoded header value; a header the modern policy cannot parse falls back to its raw text."""
    try:
        value = message.get(name)
        return None if value is None else _clean(str(value))
    except Exception:
        for key, value in message.raw_items():
            if key.lower() == name.lower():
                return _clean(_decode_rfc2047(str(value)))
        return None


def _decode_rfc2047(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _clean(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())


def _headers(message: Message) -> dict[str, str]:
    headers = {name: v for name in HEADERS_OF_INTEREST if (v := _header(message, name)) is not None}
    switchboard = sorted({k.lower() for k, _ in message.raw_items() if k.lower().startswith("x-switchboard-")})
    if switchboard:
        headers["x-switchboard"] = ",".join(switchboard)
    return headers


def _addresses(message: Message, name: str) -> list[tuple[str, str | None]]:
    """(address, display name) pairs; structured parse first, plain getaddresses as the fallback."""
    pairs: list[tuple[str, str | None]] = []
    try:
        header = message.get(name)
        for addr in getattr(header, "addresses", ()):
            if addr.addr_spec and "@" in addr.addr_spec:
                pairs.append((addr.addr_spec, addr.display_name or None))
    except Exception:
        pairs = []
    if not pairs:  # also covers clients that RFC 2047-encode the whole "Name <addr>" string
        values = [_decode_rfc2047(str(v)) for k, v in message.raw_items() if k.lower() == name]
        pairs = [(a, n or None) for n, a in getaddresses(values[:1]) if "@" in a]
    return [(a.strip().strip("<>").lower(), n) for a, n in pairs if " " not in a.strip()]


def _claims(message: Message) -> tuple[tuple[IdentityClaim, ...], str | None]:
    senders = _addresses(message, "from")[:1]
    reply_to = _addresses(message, "reply-to")[:1]
    if not (reply_to or senders):
        return (), None
    address, name = (reply_to or senders)[0]
    if name is None and senders and not _NOREPLY_LOCALPART.match(senders[0][0].split("@")[0]):
        name = senders[0][1]
    return (IdentityClaim(IdentityKind.EMAIL, address, ClaimSource.EMAIL_FROM, name).normalized(),), address


def _thread_hint(headers: dict[str, str]) -> ThreadHint:
    keys = message_ids(f"{headers.get('in-reply-to', '')} {headers.get('references', '')}")
    return ThreadHint(keys=keys, new_key=normalize_message_id(headers.get("message-id")))


def _noise_flags(
    message: Message, headers: dict[str, str], claims: tuple[IdentityClaim, ...], own_domains: tuple[str, ...]
) -> set[str]:
    flags: set[str] = set()
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    precedence = headers.get("precedence", "").strip().lower()
    if (
        (auto_submitted and auto_submitted != "no")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or precedence == "auto_reply"
        or _OOO_SUBJECT.match(headers.get("subject", ""))
    ):
        flags.add(FLAG_AUTO_REPLY)
    if precedence in {"bulk", "junk", "list"} or "list-id" in headers or "list-unsubscribe" in headers:
        flags.add(FLAG_BULK)
    senders = [c.value for c in claims] or [a for a, _ in _addresses(message, "from")]
    if any(s.split("@")[0] in _BOUNCE_LOCALPARTS for s in senders) or message.get_content_type() == "multipart/report":
        flags.add(FLAG_BOUNCE)
    msgid = normalize_message_id(headers.get("message-id")) or ""
    domain = msgid.rsplit("@", 1)[-1].rstrip(">").lower() if "@" in msgid else ""
    ours = {d.lower().strip(".") for d in own_domains if d}
    if "x-switchboard" in headers or (domain and any(domain == d or domain.endswith(f".{d}") for d in ours)):
        flags.add(FLAG_OWN_MESSAGE)
    return flags


# --- body ------------------------------------------------------------------------------------


def _body_and_attachments(message: Message) -> tuple[str, tuple[AttachmentMeta, ...]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[AttachmentMeta] = []
    for part in _leaf_parts(message):
        ctype = part.get_content_type()
        disposition = _safe(part.get_content_disposition)
        filename = _safe(part.get_filename)
        if ctype in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
            (plain if ctype == "text/plain" else html).append(_decode_text(part))
        elif not (ctype.startswith("multipart/") and not filename):
            payload = _payload_bytes(part)
            name = filename or f"attachment-{len(attachments) + 1}"
            attachments.append(AttachmentMeta(_clean(name)[:255], ctype, len(payload), content=payload))
    if any(p.strip() for p in plain):
        body = "\n\n".join(p for p in plain if p.strip())
    else:
        body = "\n\n".join(html_to_text(h) for h in html if h.strip())
    return body.replace("\r\n", "\n").replace("\r", "\n").strip("\n"), tuple(attachments)


def _leaf_parts(message: Message, depth: int = 0) -> list[Message]:
    """Leaves of the MIME tree; an attached message/rfc822 is one attachment, not more body."""
    if depth > 30:
        return []
    if message.is_multipart() and message.get_content_type().startswith("multipart/"):
        payload = message.get_payload()
        parts = payload if isinstance(payload, list) else []
        return [leaf for sub in parts if isinstance(sub, Message) for leaf in _leaf_parts(sub, depth + 1)]
    return [message]


def _safe(getter: object) -> str | None:
    try:
        value = getter()  # type: ignore[operator]
    except Exception:
        return None
    return str(value) if value is not None else None


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, list):  # message/rfc822: size of the serialized attached message
        try:
            return b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
        except Exception:
            return b""
    raw = part.get_payload()
    return raw.encode("utf-8", "replace") if isinstance(raw, str) else b""


def _decode_text(part: Message) -> str:
    """Bytes to text under the declared charset, falling back instead of failing on any of it."""
    data = _payload_bytes(part)
    charset = (_safe(part.get_content_charset) or "").strip().strip("\"'").lower()
    if charset in {"", "us-ascii", "ascii"} or charset in _UNKNOWN_CHARSETS or not _known(charset):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    if charset in {"iso-8859-1", "latin-1", "latin1", "iso8859-1"}:
        charset = "cp1252"  # what senders labelled latin-1 nearly always is, incl. curly quotes
    return data.decode(charset, "replace")


def _known(charset: str) -> bool:
    try:
        codecs.lookup(charset)
    except (LookupError, ValueError):
        return False
    return True


# --- HTML ------------------------------------------------------------------------------------

_BLOCK = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "hr",
     "blockquote", "pre", "section", "article", "header", "footer", "address", "dd", "dt", "center"}
)
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.quote_depth = 0
        self.pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag in _BLOCK:
            self._break(paragraph=tag in {"p", "blockquote", "table", "ul", "ol"}, explicit=tag == "br")
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "pre":
                self.pre_depth += 1
            elif tag == "li":
                self.current.append("- ")
            elif tag == "hr":
                self.lines.append("-" * 32)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK:
            self._break(paragraph=tag in {"p", "blockquote", "table", "ul", "ol"})
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            elif tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP:  # a self-closed <script/> has no content to skip and no end tag
            self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if self.pre_depth:
            first, *rest = data.split("\n")
            self.current.append(first)
            for line in rest:
                self._break(paragraph=False)
                self.current.append(line)
            return
        self.current.append(_SPACES.sub(" ", data))

    def _break(self, *, paragraph: bool, explicit: bool = False) -> None:
        """End the current line; ``<br>`` on an empty line is a deliberate blank line, a block is not."""
        line = "".join(self.current) if self.pre_depth else "".join(self.current).strip(" ")
        self.current = []
        prefix = "> " * self.quote_depth
        if line or explicit:
            self.lines.append(prefix + line if line else prefix.rstrip())
        if paragraph and self.lines and self.lines[-1].strip("> "):
            self.lines.append(prefix.rstrip())

    def text(self) -> str:
        self._break(paragraph=False)
        joined = "\n".join(line.rstrip() for line in self.lines)
        return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


def html_to_text(markup: str) -> str:
    """Readable text with block structure kept as line breaks and blockquotes as ``>`` quotes."""
    collector = _TextCollector()
    try:
        collector.feed(markup)
        collector.close()
    except Exception:  # HTMLParser is lenient, but a crafted document must never stop ingest
        return _SPACES.sub(" ", re.sub(r"<[^>]*>", " ", markup)).strip()
    return collector.text()
