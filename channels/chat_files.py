"""Files in web chat: a visitor uploads one (their token as a Bearer header), then sends it by id with
a chat ``message``; visitors download the files of their own conversations the same way.

Downloads need the Authorization header, so the widget fetches them (a link carrying the token in its
URL would leak it into logs and history), and they are served like the console serves them: images by
their real type, anything else as an opaque download under ``nosniff`` and a sandbox CSP.
"""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web
from itsdangerous import BadSignature
from psycopg_pool import AsyncConnectionPool

from channels.chat import VisitorTokens
from channels.rate_limit import TokenBuckets
from store import attachments, customers, tenants
from store.models import Channel, IdentityKind

UPLOADS_PER_MINUTE = 20  # per visitor; one address gets four times that


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    return web.json_response({"error": err}, status=status)


def uploader_key(visitor_id: str) -> str:
    """The ``attachments.uploader`` of a visitor's files; ingest links uploads by ``{channel}:{claim}``."""
    return f"{Channel.CHAT}:{visitor_id}"


class ChatFiles:
    def __init__(self, pool: AsyncConnectionPool, tokens: VisitorTokens, limits: attachments.Limits) -> None:
        self.pool = pool
        self.tokens = tokens
        self.limits = limits
        self._per_visitor = TokenBuckets(UPLOADS_PER_MINUTE / 60, UPLOADS_PER_MINUTE / 2)
        self._per_ip = TokenBuckets(4 * UPLOADS_PER_MINUTE / 60, 2 * UPLOADS_PER_MINUTE)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/chat/{tenant}/upload", self.upload),
                web.get("/chat/{tenant}/attachments/{id}", self.download)]

    async def _visitor(self, request: web.Request) -> tuple[int, str] | web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "unauthorized", "send the visitor token as a Bearer token", "Authorization")
        try:
            tenant_id, visitor_id = self.tokens.read(auth.removeprefix("Bearer ").strip())
        except BadSignature:  # SignatureExpired is one
            return _error(401, "unauthorized", "invalid or expired visitor token", "Authorization")
        async with self.pool.connection() as conn:
            tenant = await tenants.by_slug(conn, request.match_info["tenant"])
        if tenant is None or tenant.id != tenant_id:
            return _error(404, "not_found", "unknown tenant", "tenant")
        return tenant_id, visitor_id

    async def upload(self, request: web.Request) -> web.Response:
        who = await self._visitor(request)
        if isinstance(who, web.Response):
            return who
        tenant_id, visitor_id = who
        if not self._per_visitor.allow(visitor_id) or not self._per_ip.allow(request.remote or "?"):
            return web.json_response({"error": {"code": "rate_limited", "message": "too many uploads"}},
                                     status=429, headers={"Retry-After": "10"})
        if not request.content_type.startswith("multipart/form-data"):
            return _error(415, "multipart_required", "send multipart/form-data with a file field", "Content-Type")
        part = await (await request.multipart()).next()
        if not isinstance(part, BodyPartReader) or part.name != "file":
            return _error(422, "invalid", "the first part must be the file field", "file")
        try:
            content = await attachments.read_limited(part, self.limits)
            async with self.pool.connection() as conn:
                stored = await attachments.add(conn, tenant_id, uploader=uploader_key(visitor_id),
                                               filename=part.filename, declared_type=part.headers.get("Content-Type"),
                                               content=content, limits=self.limits)
        except attachments.AttachmentRejected as exc:
            return _error(exc.status, "rejected", exc.message, exc.field)
        return web.json_response({"ok": True, "attachment": stored.meta()}, status=201)

    async def download(self, request: web.Request) -> web.StreamResponse:
        """The visitor's own uploads and the files of conversations they may see; anything else is 404."""
        who = await self._visitor(request)
        if isinstance(who, web.Response):
            return who
        tenant_id, visitor_id = who
        raw = request.match_info["id"]
        found = None
        if raw.isdigit() and len(raw) <= 18:
            async with self.pool.connection() as conn:
                found = await attachments.get(conn, tenant_id, int(raw))
                if found is not None and not await self._may_see(conn, tenant_id, visitor_id, found[0]):
                    found = None
        if found is None:
            return _error(404, "not_found", "no such attachment")
        att, content = found
        content_type, headers = attachments.download_headers(att)
        return web.Response(body=content, content_type=content_type, headers=headers)

    async def _may_see(self, conn: Any, tenant_id: int, visitor_id: str, att: attachments.Attachment) -> bool:
        if att.uploader == uploader_key(visitor_id):
            return True
        if att.conversation_id is None or att.message_id is None:
            return False
        cur = await conn.execute(
            "SELECT c.customer_id FROM conversations c JOIN messages m ON m.tenant_id = c.tenant_id"
            " AND m.conversation_id = c.id WHERE c.tenant_id = %s AND c.id = %s AND m.id = %s"
            " AND m.direction <> 'internal'", (tenant_id, att.conversation_id, att.message_id))
        row = await cur.fetchone()
        if row is None:
            return False
        ident = await customers.find_linking(conn, tenant_id, IdentityKind.CHAT_VISITOR, visitor_id)
        return ident is not None and row["customer_id"] in await customers.group(conn, tenant_id, ident.customer_id)
