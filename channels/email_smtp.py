"""The email channel's outbound half: one outbox delivery → one MIME message over SMTP.

Threading is what email gets wrong most often, so every reply carries all three signals: our own
Message-ID (recorded as a thread key before sending, so an answer to it finds the conversation),
In-Reply-To/References of the customer's last email, and the ``[#id]`` tag in the subject.

The Message-ID is derived from the delivery's idempotency key, and the Date from the delivery's
creation time: a retry after a lost "250 OK" sends byte-identical headers, so the receiving side
can recognise the duplicate.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import aiosmtplib
from psycopg_pool import AsyncConnectionPool

from channels.email_mime import message_ids, normalize_message_id
from store import attachments, mailboxes
from store.mailboxes import Mailbox
from store.outbox import Delivery, PermanentDeliveryError, TransientDeliveryError

MAX_REFERENCES = 20  # long threads: keep the root and the most recent ids (RFC 5322 3.6.4 allows trimming)
CONVERSATION_HEADER = "X-Switchboard-Conversation"
MAX_INLINE_IMAGES = 10


def own_message_domain(mailbox: Mailbox) -> str:
    """Right-hand side of our Message-IDs: a subdomain no customer's mail server uses, so mail
    carrying it can be told apart as ours even when a customer writes from the tenant's own domain."""
    return f"switchboard.{mailbox.domain}"


def message_id_for(delivery: Delivery, mailbox: Mailbox) -> str:
    digest = hashlib.sha256(f"{delivery.tenant_id}\0{delivery.idempotency_key}".encode()).hexdigest()[:32]
    return f"<{digest}@{own_message_domain(mailbox)}>"


def _attach_inline_images(msg: EmailMessage, images: list[dict[str, Any]]) -> None:
    """Images the HTML shows as ``cid:`` links (the digest's charts) become parts of a multipart/related
    around the HTML: unlike data: URIs, most mail clients display them without asking."""
    html = msg.get_body(("html",))
    for image in images[:MAX_INLINE_IMAGES]:
        maintype, _, subtype = str(image.get("content_type") or "image/png").partition("/")
        if maintype != "image" or html is None:
            continue
        html.add_related(base64.b64decode(image["data"]), maintype="image", subtype=subtype or "png",
                         cid=f"<{image['cid']}>", disposition="inline", filename=image.get("filename"))


async def _attach_files(conn: Any, msg: EmailMessage, tenant_id: int, message_id: int) -> None:
    """Files the agent sent with the reply, as ordinary attachments under their sniffed type."""
    for att, content in await attachments.for_message(conn, tenant_id, message_id):
        maintype, _, subtype = att.sniffed_type.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename)


@dataclass(frozen=True, slots=True)
class Outgoing:
    mailbox: Mailbox
    to: str
    message: EmailMessage
    message_id: str


class EmailSender:
    """A ``store.outbox.Sender``: 4xx and connection trouble retry, 5xx fails the delivery for good."""

    def __init__(self, pool: AsyncConnectionPool, *, timeout: float = 20.0) -> None:
        self.pool = pool
        self.timeout = timeout

    async def send(self, delivery: Delivery) -> None:
        async with self.pool.connection() as conn:
            out = await self.compose(conn, delivery)
            # Before sending: the customer can answer within milliseconds of our 250 OK.
            await mailboxes.record_outbound(conn, delivery.tenant_id, delivery.conversation_id, delivery.message_id,
                                            out.message_id)
        await self._submit(out)

    async def compose(self, conn: Any, delivery: Delivery) -> Outgoing:
        p = delivery.payload
        body = p.get("body") or {}
        answers = p.get("answers_message_id")
        answered = await mailboxes.email_raw(conn, delivery.tenant_id, answers) if answers else None
        mailbox = await self._mailbox(conn, delivery.tenant_id, answered)
        to = await self._recipient(conn, delivery, answered)
        parent = answered
        if parent is None and delivery.conversation_id is not None:
            parent = await mailboxes.last_inbound_email(conn, delivery.tenant_id, delivery.conversation_id)
        mid = message_id_for(delivery, mailbox)

        msg = EmailMessage()
        msg["From"] = formataddr((mailbox.from_name or "", mailbox.from_address))
        msg["To"] = to
        if mailbox.reply_to:
            msg["Reply-To"] = mailbox.reply_to
        msg["Subject"] = str(body.get("subject") or f"[#{delivery.conversation_id}]")
        msg["Date"] = format_datetime(delivery.created_at)
        msg["Message-ID"] = mid
        if parent is not None:
            headers = parent.get("headers") or {}
            parent_id = normalize_message_id(headers.get("message-id"))
            if parent_id:
                refs = [*message_ids(headers.get("references")), parent_id]
                refs = list(dict.fromkeys(refs))
                if len(refs) > MAX_REFERENCES:
                    refs = [refs[0], *refs[-(MAX_REFERENCES - 1):]]
                msg["In-Reply-To"] = parent_id
                msg["References"] = " ".join(refs)
        if delivery.conversation_id is not None:
            msg[CONVERSATION_HEADER] = str(delivery.conversation_id)
        if p.get("author_kind") == "ai":
            msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: their autoresponders must not answer us
        elif p.get("author_kind") in (None, "system"):
            msg["Auto-Submitted"] = "auto-generated"
        if body.get("language"):
            msg["Content-Language"] = str(body["language"])
        msg.set_content(str(body.get("text") or ""))
        if body.get("html"):
            msg.add_alternative(str(body["html"]), subtype="html")
            _attach_inline_images(msg, body.get("inline_images") or [])
        if delivery.message_id is not None:
            await _attach_files(conn, msg, delivery.tenant_id, delivery.message_id)
        return Outgoing(mailbox, to, msg, mid)

    async def _mailbox(self, conn: Any, tenant_id: int, answered: dict[str, Any] | None) -> Mailbox:
        """The mailbox the customer wrote to; else the tenant's default one."""
        mailbox = None
        if answered and isinstance(answered.get("mailbox_id"), int):
            mailbox = await mailboxes.get(conn, tenant_id, answered["mailbox_id"])
        mailbox = mailbox if mailbox and mailbox.enabled else await mailboxes.default_for(conn, tenant_id)
        if mailbox is None:
            raise PermanentDeliveryError("this tenant has no email mailbox configured")
        return mailbox

    async def _recipient(self, conn: Any, delivery: Delivery, answered: dict[str, Any] | None) -> str:
        """Where the answered mail asked replies to go; else an address the trust table lets receive replies."""
        explicit = delivery.payload.get("to")
        if isinstance(explicit, str) and explicit:
            return explicit  # system notices to an address being verified (gateway.email_verification)
        if answered and answered.get("reply_address"):
            return str(answered["reply_address"])
        if delivery.conversation_id is not None:
            addresses = await mailboxes.reply_addresses(conn, delivery.tenant_id, delivery.conversation_id)
            if addresses:
                return addresses[0]
        raise PermanentDeliveryError("the customer has no email address that may receive replies")

    async def _submit(self, out: Outgoing) -> None:
        mb = out.mailbox
        password = os.environ.get(mb.smtp_password_env) if mb.smtp_password_env else None
        if mb.smtp_password_env and password is None:
            raise TransientDeliveryError(f"environment variable {mb.smtp_password_env} (SMTP password) is not set")
        try:
            await aiosmtplib.send(
                out.message, sender=mb.from_address, recipients=[out.to], hostname=mb.smtp_host, port=mb.smtp_port,
                username=mb.smtp_username or None, password=password, use_tls=mb.smtp_security == "tls",
                start_tls=True if mb.smtp_security == "starttls" else False, timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            _raise_for(min(codes) if codes else 450, "; ".join(f"{r.code} {r.message}" for r in exc.recipients))
        except aiosmtplib.SMTPResponseException as exc:
            _raise_for(exc.code, f"{exc.code} {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientDeliveryError(f"SMTP {type(exc).__name__}: {exc}") from exc


def _raise_for(code: int, text: str) -> None:
    if 500 <= code < 600:
        raise PermanentDeliveryError(f"SMTP refused: {text}")
    raise TransientDeliveryError(f"SMTP deferred: {text}")
