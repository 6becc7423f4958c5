"""Attachments in the console: agents open customers' files safely and upload files for replies.

Opening goes through ``store.attachments.download_headers``: only real raster images show inline;
anything else, HTML and SVG above all, downloads as opaque bytes under a sandbox CSP.
"""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from store import attachments, conversations
from store.conversations import NotFound

UPLOADS_PER_MINUTE = 30


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    return web.json_response({"error": err}, status=status)


def _id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


class ConsoleAttachments:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth, limits: attachments.Limits) -> None:
        self.pool = pool
        self.auth = auth
        self.limits = limits

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/api/attachments/{id}", self.download),
                web.post("/console/api/conversations/{id}/attachments", self.upload)]

    async def download(self, request: web.Request) -> web.StreamResponse:
        s = await self.auth.require(request)
        attachment_id = _id(request)
        found = None
        if attachment_id is not None:
            async with self.pool.connection() as conn:
                found = await attachments.get(conn, s.tenant_id, attachment_id)
        if found is None:
            return _error(404, "not_found", "no such attachment")
        att, content = found
        content_type, headers = attachments.download_headers(att)
        return web.Response(body=content, content_type=content_type, headers=headers)

    async def upload(self, request: web.Request) -> web.Response:
        """One file (multipart field ``file``) for this conversation; a reply sends it by its id."""
        s = await self.auth.require(request, write=True)
        cid = _id(request)
        uploader = f"agent:{s.agent_id}"
        if not request.content_type.startswith("multipart/form-data"):
            return _error(415, "multipart_required", "send multipart/form-data with a file field", "Content-Type")
        async with self.pool.connection() as conn:
            try:
                await conversations.get(conn, s.tenant_id, cid or 0)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
            if await attachments.count_recent_uploads(conn, s.tenant_id, uploader, 60) >= UPLOADS_PER_MINUTE:
                return web.json_response({"error": {"code": "rate_limited", "message": "too many uploads"}},
                                         status=429, headers={"Retry-After": "60"})
        part = await (await request.multipart()).next()
        if not isinstance(part, BodyPartReader) or part.name != "file":
            return _error(422, "invalid", "the first part must be the file field", "file")
        try:
            content = await attachments.read_limited(part, self.limits)
            async with self.pool.connection() as conn:
                stored = await attachments.add(conn, s.tenant_id, uploader=uploader, filename=part.filename,
                                               declared_type=part.headers.get("Content-Type"), content=content,
                                               limits=self.limits, conversation_id=cid)
        except attachments.AttachmentRejected as exc:
            return _error(exc.status, "rejected", exc.message, exc.field)
        return web.json_response({"ok": True, "attachment": stored.meta()}, status=201)
