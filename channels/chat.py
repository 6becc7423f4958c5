"""Web chat over Socket.IO (namespace ``/chat``): signed visitor tokens, idempotent messages, resume.

Protocol, client → server (every event answers through its ack; a bad event also gets an ``error``
event naming the field):
- connect with ``auth={"token": …}`` from ``POST /chat/{tenant}/session``; refused with a reason
  when the token is missing, forged or expired, or the address has too many connections;
- ``message`` ``{client_id, text, conversation_id?}`` → ``{ok, message_id, seq, conversation_id}``;
- ``history`` ``{}`` → ``{ok, conversations: [{id, status, messages}]}`` (what this visitor may see);
- ``resume`` ``{conversation_id, last_seq}`` → ``{ok, messages}``: everything after ``last_seq``;
- ``typing`` ``{conversation_id, typing}``, ``read`` ``{conversation_id, seq}``;
- ``action`` ``{conversation_id, action_id}`` (the buttons under replies);
- ``email`` ``{email}``: an unverified claim until the one-time link is opened.
Server → client: ``message`` (wire messages, also the visitor's own from other tabs), ``error``.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg
import socketio
from aiohttp import web
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from psycopg_pool import AsyncConnectionPool

from channels.ports import CustomerActions, EmailVerification, Ingest
from channels.rate_limit import TokenBuckets
from store import attachments, conversations, customers, tenants
from store.models import (
    UNSTORABLE,
    AuthorKind,
    Channel,
    ClaimSource,
    Direction,
    IdentityClaim,
    IdentityKind,
    InboundMessage,
    IngestResult,
    ThreadHint,
)
from store.outbox import Delivery, PermanentDeliveryError
from store.trust import history_scope, policy

log = logging.getLogger("switchboard.chat")
NAMESPACE = "/chat"
HISTORY_SCAN = 200  # newest conversations of the merge group looked at for one history read
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_text_chars: int = 4000
    max_client_id_chars: int = 100
    messages_per_second: float = 5.0
    message_burst: float = 10.0
    ip_messages_per_second: float = 20.0
    ip_message_burst: float = 40.0
    connections_per_ip: int = 50
    sessions_per_ip_per_minute: float = 30.0
    token_max_age_seconds: int = 7 * 24 * 3600
    max_files_per_message: int = 10  # uploads (channels/chat_files.py) one message may send

    @classmethod
    def per_second(cls, rate: float) -> ChatLimits:
        """One operator knob: a connection's rate, bursts of twice that, an address four times it."""
        return cls(messages_per_second=rate, message_burst=2 * rate, ip_messages_per_second=4 * rate,
                   ip_message_burst=8 * rate)


class ChatInputError(ValueError):
    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code

    def as_ack(self) -> dict[str, Any]:
        return {"ok": False, "error": {"code": self.code, "field": self.field, "message": str(self)}}


class VisitorTokens:
    """Signed, expiring visitor tokens bound to one tenant."""

    def __init__(self, secret: str, max_age: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="switchboard.chat.visitor")
        self.max_age = max_age

    def issue(self, tenant_id: int, visitor_id: str) -> str:
        return self._s.dumps({"t": tenant_id, "v": visitor_id})

    def read(self, token: str, *, max_age: int | None = None) -> tuple[int, str]:
        """Raises SignatureExpired or BadSignature."""
        data = self._s.loads(token, max_age=self.max_age if max_age is None else max_age)
        if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("v"), str):
            raise BadSignature("malformed token")
        return data["t"], data["v"]


def _str(data: dict[str, Any], name: str, *, max_len: int, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ChatInputError(name, "is required")
        return None
    if not isinstance(value, str):
        raise ChatInputError(name, "must be a string")
    if len(value) > max_len:
        raise ChatInputError(name, f"at most {max_len} characters", code="too_long")
    if UNSTORABLE.search(value):  # PostgreSQL text takes neither; refusing here beats a failed insert
        raise ChatInputError(name, "must not contain NUL or unpaired surrogate characters")
    return value


def _int(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ChatInputError(name, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2**62:
        raise ChatInputError(name, "must be a non-negative integer")
    return value


def _ids(data: dict[str, Any], name: str, *, max_items: int) -> list[int]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise ChatInputError(name, f"must be a list of at most {max_items} ids")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1 or item > 2**62:
            raise ChatInputError(name, "must be a list of positive integers")
    return list(dict.fromkeys(value))


def _files(metas: Any) -> list[dict[str, Any]]:
    """What the widget shows of a message's files: stored ones only, fetched from chat_files' route."""
    return [{"id": a["id"], "name": a.get("name"), "content_type": a.get("content_type"), "size": a.get("size")}
            for a in metas or [] if isinstance(a, dict) and a.get("id")]


def _wire_from_row(row: dict[str, Any]) -> dict[str, Any]:
    body = row.get("body") or {}
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "seq": row["seq"],
        "direction": row["direction"],
        "author": row["author_kind"],
        "kind": row["reply_kind"],
        "channel": row["channel"],
        "text": body.get("text", row["text"]),
        "parts": body.get("parts") or [{"text": row["text"]}],
        "sources": body.get("sources", []),
        "actions": body.get("actions", []),
        "language": body.get("language"),
        "attachments": _files(row.get("attachments")),
        "created_at": row["created_at"].isoformat(),
    }


def _wire_of_new_inbound(result: IngestResult, text: str) -> dict[str, Any]:
    """What ``_wire_from_row`` gives for the customer's own message without files, from the ingest result."""
    assert result.created_at is not None
    return {
        "id": result.message_id, "conversation_id": result.conversation_id, "seq": result.seq,
        "direction": Direction.INBOUND.value, "author": AuthorKind.CUSTOMER.value, "kind": None,
        "channel": Channel.CHAT.value, "text": text, "parts": [{"text": text}], "sources": [], "actions": [],
        "language": None, "attachments": [], "created_at": result.created_at.isoformat(),
    }


class ChatSender:
    """The outbound half; runs wherever the dispatcher runs (``emitter`` may be a write-only Redis manager)."""

    def __init__(self, emitter: Any, pool: AsyncConnectionPool) -> None:
        self.sio = emitter
        self.pool = pool

    async def send(self, delivery: Delivery) -> None:
        """Pushes a reply to every socket of the visitors who own the conversation."""
        p = delivery.payload
        conv_id = p.get("conversation_id")
        if conv_id is None:
            raise PermanentDeliveryError("chat delivery without a conversation")
        async with self.pool.connection() as conn:
            conv = await conversations.get(conn, delivery.tenant_id, conv_id)
            group = await customers.group(conn, delivery.tenant_id, conv.customer_id)
            idents = await customers.identities(conn, delivery.tenant_id, group)
            cur = await conn.execute("SELECT attachments FROM messages WHERE tenant_id = %s AND id = %s",
                                     (delivery.tenant_id, p["message_id"]))
            row = await cur.fetchone()
        visitors = [i.value for i in idents if i.kind is IdentityKind.CHAT_VISITOR and i.links
                    and policy(i.source).receives_replies]
        if not visitors:
            raise PermanentDeliveryError("no chat visitor for this conversation")
        body = p.get("body", {})
        wire = {
            "id": p["message_id"], "conversation_id": conv_id, "seq": p["seq"], "direction": "out",
            "author": p.get("author_kind", "ai"), "kind": p.get("kind"), "channel": "chat",
            "text": body.get("text", ""), "parts": body.get("parts", []), "sources": body.get("sources", []),
            "actions": body.get("actions", []), "language": body.get("language"),
            "attachments": _files(row["attachments"] if row else []),
            "created_at": delivery.created_at.isoformat(),
        }
        for v in visitors:
            await self.sio.emit("message", wire, room=_room(delivery.tenant_id, v), namespace=NAMESPACE)


class ChatChannel:
    """The chat adapter: Socket.IO namespace, session endpoint, and the outbound sender."""

    def __init__(self, sio: socketio.AsyncServer, pool: AsyncConnectionPool, *, ingest: Ingest,
                 actions: CustomerActions, verify_email: EmailVerification, secret: str,
                 limits: ChatLimits | None = None) -> None:
        self.sio = sio
        self.pool = pool
        self.ingest = ingest
        self.actions = actions
        self.verify_email = verify_email
        self.limits = limits or ChatLimits()
        self.tokens = VisitorTokens(secret, self.limits.token_max_age_seconds)
        self._per_conn = TokenBuckets(self.limits.messages_per_second, self.limits.message_burst)
        self._per_ip = TokenBuckets(self.limits.ip_messages_per_second, self.limits.ip_message_burst)
        self._sessions_per_ip = TokenBuckets(self.limits.sessions_per_ip_per_minute / 60, 10)
        self._connections: Counter[str] = Counter()
        self.sender = ChatSender(sio, pool)
        sio.register_namespace(_ChatNamespace(self))

    # -- HTTP ---------------------------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [web.post("/chat/{tenant}/session", self.session)]

    async def session(self, request: web.Request) -> web.Response:
        ip = request.remote or "?"
        if not self._sessions_per_ip.allow(ip):
            return web.json_response({"error": {"code": "rate_limited", "message": "too many sessions"}}, status=429,
                                     headers={"Retry-After": "10"})
        async with self.pool.connection() as conn:
            tenant = await tenants.by_slug(conn, request.match_info["tenant"])
        if tenant is None:
            return web.json_response({"error": {"code": "not_found", "field": "tenant", "message": "unknown tenant"}},
                                     status=404)
        visitor_id = uuid.uuid4().hex
        if request.can_read_body and request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            old = body.get("token") if isinstance(body, dict) else None
            if isinstance(old, str) and len(old) < 1000:
                try:  # renew a known visitor (up to 30 days after expiry) so history survives
                    t, v = self.tokens.read(old, max_age=self.limits.token_max_age_seconds + 30 * 86400)
                    if t == tenant.id:
                        visitor_id = v
                except BadSignature:
                    pass
        return web.json_response({"token": self.tokens.issue(tenant.id, visitor_id), "visitor_id": visitor_id,
                                  "tenant": tenant.slug, "expires_in": self.limits.token_max_age_seconds})

    # -- reads for the namespace ---------------------------------------------------------------------
    async def visitor_customer(self, tenant_id: int, visitor_id: str) -> list[int]:
        """The visitor's customer group (empty before their first message)."""
        async with self.pool.connection() as conn:
            ident = await customers.find_linking(conn, tenant_id, IdentityKind.CHAT_VISITOR, visitor_id)
            if ident is None:
                return []
            return await customers.group(conn, tenant_id, ident.customer_id)

    async def history_conversations(self, tenant_id: int, visitor_id: str, *, limit: int
                                    ) -> list[conversations.Conversation]:
        """The visitor's history as ``store.trust`` scopes it, newest first.

        A merge group alone would hand the visitor every merged customer's past; the trust module
        says which of them its claim may read. Conversations the visitor itself wrote in always
        count as its own, also when a merge made them another customer's.
        """
        async with self.pool.connection() as conn:
            ident = await customers.find_linking(conn, tenant_id, IdentityKind.CHAT_VISITOR, visitor_id)
            if ident is None:
                return []
            group = await customers.group(conn, tenant_id, ident.customer_id)
            merges = [(m["source_customer_id"], m["target_customer_id"], ClaimSource(m["claim_source"]))
                      for m in await customers.merges(conn, tenant_id, group) if m["undone_at"] is None]
            readable = history_scope(ident.customer_id, ident.source, merges)
            if not readable:
                return []
            convs = await conversations.list_for_customers(conn, tenant_id, group, limit=HISTORY_SCAN)
            others = [c.id for c in convs if c.customer_id not in readable]
            written: set[int] = set()
            if others:
                prefix = f"{visitor_id}:"
                cur = await conn.execute(
                    "SELECT DISTINCT conversation_id FROM messages WHERE tenant_id = %s AND conversation_id = ANY(%s)"
                    " AND channel = %s AND direction = 'in' AND left(external_id, %s) = %s",
                    (tenant_id, others, Channel.CHAT.value, len(prefix), prefix))
                written = {int(r["conversation_id"]) for r in await cur.fetchall()}
        return [c for c in convs if c.customer_id in readable or c.id in written][:limit]

    async def wire_messages(self, tenant_id: int, conversation_id: int, after_seq: int, limit: int = 500
                            ) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT m.*, o.payload->'body' AS body FROM messages m"
                " LEFT JOIN outbox o ON o.message_id = m.id AND o.tenant_id = m.tenant_id"
                " WHERE m.tenant_id = %s AND m.conversation_id = %s AND m.seq > %s AND m.direction <> 'internal'"
                " AND (m.reply_kind IS NULL OR m.reply_kind <> 'suggestion') AND m.deleted_at IS NULL"
                " ORDER BY m.seq LIMIT %s",
                (tenant_id, conversation_id, after_seq, limit),
            )
            return [_wire_from_row(r) for r in await cur.fetchall()]


def _room(tenant_id: int, visitor_id: str) -> str:
    return f"visitor:{tenant_id}:{visitor_id}"


class _ChatNamespace(socketio.AsyncNamespace):
    def __init__(self, chat: ChatChannel) -> None:
        super().__init__(NAMESPACE)
        self.chat = chat

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError("missing token")
        try:
            tenant_id, visitor_id = self.chat.tokens.read(token)
        except SignatureExpired:
            raise socketio.exceptions.ConnectionRefusedError("expired token") from None
        except BadSignature:
            raise socketio.exceptions.ConnectionRefusedError("invalid token") from None
        request = environ.get("aiohttp.request")
        ip = (request.remote if request is not None else None) or environ.get("REMOTE_ADDR") or "?"
        if self.chat._connections[ip] >= self.chat.limits.connections_per_ip:
            raise socketio.exceptions.ConnectionRefusedError("too many connections from this address")
        self.chat._connections[ip] += 1
        await self.save_session(sid, {"tenant_id": tenant_id, "visitor_id": visitor_id, "ip": ip})
        await self.enter_room(sid, _room(tenant_id, visitor_id))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        try:
            session = await self.get_session(sid)
        except KeyError:
            return
        ip = session.get("ip", "?")
        self.chat._connections[ip] -= 1
        if self.chat._connections[ip] <= 0:
            del self.chat._connections[ip]

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Every event: validated input, a structured error naming the field, never a crash."""
        if event in ("connect", "disconnect") and not self._sent_by_client(event, args):
            return await super().trigger_event(event, *args)
        sid = args[0]
        data = args[1] if len(args) > 1 else None
        handler = getattr(self, f"ev_{event}", None)
        try:
            if handler is None:
                raise ChatInputError("event", f"unknown event {event[:40]!r}", code="unknown_event")
            if not isinstance(data, dict):
                raise ChatInputError("data", "must be an object")
            session = await self.get_session(sid)
            return await handler(sid, session, data)
        except ChatInputError as exc:
            ack = exc.as_ack()
            await self.emit("error", ack["error"], to=sid)
            return ack
        except psycopg.OperationalError:  # database down or restarting: the client retries the same client_id
            log.warning("chat event %s: database unavailable", event)
            ack = {"ok": False, "error": {"code": "unavailable", "field": None,
                                          "message": "temporarily unavailable, retry shortly"}}
            await self.emit("error", ack["error"], to=sid)
            return ack
        except Exception:
            log.exception("chat event %s failed", event)
            ack = {"ok": False, "error": {"code": "internal", "field": None, "message": "internal error"}}
            await self.emit("error", ack["error"], to=sid)
            return ack

    def _sent_by_client(self, event: str, args: tuple[Any, ...]) -> bool:
        """A connected client may emit an event *named* connect/disconnect; python-socketio hands it to
        the same handlers, which would re-run sign-in or undo the per-address connection count."""
        if event == "connect":
            environ = args[1] if len(args) > 1 else None
            return not (isinstance(environ, dict) and isinstance(environ.get("aiohttp.request"), web.Request))
        return bool(self.server.manager.is_connected(args[0], self.namespace))  # a real disconnect is past that

    async def _own_conversation(self, session: dict[str, Any], conversation_id: int) -> None:
        group = await self.chat.visitor_customer(session["tenant_id"], session["visitor_id"])
        async with self.chat.pool.connection() as conn:
            try:
                conv = await conversations.get(conn, session["tenant_id"], conversation_id)
            except conversations.NotFound:
                conv = None
        if conv is None or conv.customer_id not in group:
            raise ChatInputError("conversation_id", "no such conversation", code="not_found")

    async def ev_message(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        limits = self.chat.limits
        client_id = _str(data, "client_id", max_len=limits.max_client_id_chars)
        text = _str(data, "text", max_len=limits.max_text_chars)
        conversation_id = _int(data, "conversation_id", required=False)
        file_ids = _ids(data, "attachment_ids", max_items=limits.max_files_per_message)
        assert client_id is not None and text is not None
        if not text.strip() and not file_ids:
            raise ChatInputError("text", "must not be empty")
        if not self.chat._per_conn.allow(sid) or not self.chat._per_ip.allow(session["ip"]):
            raise ChatInputError("rate", "too many messages; slow down", code="rate_limited")
        tenant_id, visitor_id = session["tenant_id"], session["visitor_id"]
        if file_ids:
            async with self.chat.pool.connection() as conn:
                # A resent message (same client_id) finds its files already sent: ingest dedupes it first.
                if not await attachments.unsent(conn, tenant_id, file_ids, f"{Channel.CHAT}:{visitor_id}") and \
                        await conversations.find_message_by_external_id(
                            conn, tenant_id, Channel.CHAT, f"{visitor_id}:{client_id}") is None:
                    raise ChatInputError("attachment_ids", "unknown, already sent or not your upload")
        msg = InboundMessage(
            tenant_id=tenant_id, channel=Channel.CHAT, external_id=f"{visitor_id}:{client_id}", text=text,
            claims=(IdentityClaim(IdentityKind.CHAT_VISITOR, visitor_id, ClaimSource.CHAT_VISITOR_TOKEN),),
            thread=ThreadHint(conversation_id=conversation_id), raw={"client_id": client_id},
            upload_ids=tuple(file_ids),
        )
        result = await self.chat.ingest(msg)
        if not result.duplicate:
            # The visitor's other tabs see it too; without files the wire row is known without reading it back.
            rows = ([_wire_of_new_inbound(result, text)] if not file_ids and result.created_at is not None
                    else await self.chat.wire_messages(tenant_id, result.conversation_id, result.seq - 1, limit=1))
            if rows:
                await self.emit("message", rows[0], room=_room(tenant_id, visitor_id), skip_sid=sid)
        return {"ok": True, "message_id": result.message_id, "seq": result.seq,
                "conversation_id": result.conversation_id, "duplicate": result.duplicate}

    async def ev_history(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        tenant_id = session["tenant_id"]
        out = []
        for conv in await self.chat.history_conversations(tenant_id, session["visitor_id"], limit=20):
            out.append({"id": conv.id, "status": conv.status.value, "channel": conv.last_channel.value,
                        "messages": await self.chat.wire_messages(tenant_id, conv.id, 0)})
        return {"ok": True, "conversations": out}

    async def ev_resume(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = _int(data, "conversation_id")
        last_seq = _int(data, "last_seq")
        assert conversation_id is not None and last_seq is not None
        await self._own_conversation(session, conversation_id)
        return {"ok": True, "messages": await self.chat.wire_messages(session["tenant_id"], conversation_id, last_seq)}

    async def ev_typing(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = _int(data, "conversation_id")
        if not isinstance(data.get("typing"), bool):
            raise ChatInputError("typing", "must be true or false")
        assert conversation_id is not None
        await self._own_conversation(session, conversation_id)
        return {"ok": True}

    async def ev_read(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = _int(data, "conversation_id")
        seq = _int(data, "seq")
        assert conversation_id is not None and seq is not None
        await self._own_conversation(session, conversation_id)
        async with self.chat.pool.connection() as conn:
            await conn.execute(
                "UPDATE conversations SET customer_read_seq = greatest(customer_read_seq, least(%s, last_seq))"
                " WHERE tenant_id = %s AND id = %s", (seq, session["tenant_id"], conversation_id))
        return {"ok": True}

    async def ev_action(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        conversation_id = _int(data, "conversation_id")
        action_id = _str(data, "action_id", max_len=40)
        assert conversation_id is not None and action_id is not None
        if not re.fullmatch(r"talk_to_human|solved|csat_[1-5]", action_id):
            raise ChatInputError("action_id", "unknown action")
        await self._own_conversation(session, conversation_id)
        await self.chat.actions(session["tenant_id"], conversation_id, action_id,
                                actor=f"visitor:{session['visitor_id']}")
        return {"ok": True}

    async def ev_email(self, sid: str, session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        email = _str(data, "email", max_len=320)
        assert email is not None
        if not EMAIL_RE.match(email.strip()):
            raise ChatInputError("email", "not an email address")
        tenant_id = session["tenant_id"]
        group = await self.chat.visitor_customer(tenant_id, session["visitor_id"])
        if not group:
            raise ChatInputError("email", "send a message first", code="no_conversation")
        async with self.chat.pool.connection() as conn:
            root = await customers.canonical(conn, tenant_id, group[0])
            await customers.add_claim(conn, tenant_id, root, IdentityClaim(
                IdentityKind.EMAIL, email, ClaimSource.CHAT_TYPED_EMAIL).normalized())
        sent = await self.chat.verify_email(tenant_id, root, email.strip().lower())
        return {"ok": True, "verification_sent": sent}
