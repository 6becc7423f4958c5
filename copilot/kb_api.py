"""The admins' HTTP API for the tenant's knowledge base: ``switchboard kb import``, one article at a time.

An upsert goes through ``agent_graph.kb_import.import_article``, the CLI's own code path, so an
article edited here is chunked, hashed and embedded exactly as an imported file is: unchanged
content costs no embedding, changed content replaces every old chunk (a deleted passage can never
be cited again). What the KB says is what the AI tells customers, so every route is admin-only,
writes need the CSRF token, and changes are audited. Every query is scoped to the admin's tenant:
another tenant's article key is simply not found.

Articles written here carry no ``source_path``, so a later ``kb import --prune`` of a directory
never deletes them; importing a file with the same key still replaces the article (last write wins).
"""

from __future__ import annotations

import json
import re
from json import JSONDecodeError
from typing import Any, NoReturn

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph import chunking
from agent_graph.kb_import import import_article
from copilot.auth import Auth
from store import audit, kb

PREFIX = "/console/api/admin/kb"
# Keys look like the CLI's (a relative path without suffix: "billing/refunds"), never "..", "/x" or "a//b".
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)*")
MAX_KEY_CHARS = 200
MAX_BODY_BYTES = 200 * 1024
MAX_TITLE_CHARS = 300
MAX_URL_CHARS = 2000
FORMATS = ("markdown", "html")
STATUSES = ("draft", "published")  # a draft is never used for answers until it is published


class _TooLarge(web.HTTPClientError):
    """A 413 carrying our own message (aiohttp's class is the server's body limit, reshaped by the gateway)."""

    status_code = 413


_STATUS: dict[int, type[web.HTTPException]] = {
    404: web.HTTPNotFound, 413: _TooLarge, 415: web.HTTPUnsupportedMediaType,
    422: web.HTTPUnprocessableEntity,
}


def _fail(status: int, code: str, message: str, field: str | None = None) -> NoReturn:
    """Raises the console's JSON error shape ({"error": {code, message, field}}), as copilot.api does."""
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    raise _STATUS[status](text=json.dumps({"error": err}), content_type="application/json")


def _key(request: web.Request, *, for_write: bool) -> str:
    """The article key from the path; a malformed key cannot exist, so reads say not found."""
    key = request.match_info["key"]
    if len(key) <= MAX_KEY_CHARS and KEY.fullmatch(key) and ".." not in key:
        return key
    if for_write:
        _fail(422, "invalid", f"letters, digits, '.', '_', '-' and '/' between parts; at most {MAX_KEY_CHARS}"
                              " characters", "key")
    _fail(404, "not_found", "no such article")


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        _fail(415, "json_required", "send application/json", "Content-Type")
    try:
        data = await request.json()
    except (JSONDecodeError, UnicodeDecodeError):
        _fail(422, "invalid", "not valid JSON", "body")
    if not isinstance(data, dict):
        _fail(422, "invalid", "must be a JSON object", "body")
    return data


def _article_json(a: kb.Article, chunks: int, *, body: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"key": a.key, "title": a.title, "url": a.url, "language": a.language,
                           "updated_at": a.updated_at.isoformat(), "chunks": chunks,
                           "source": "file" if a.source_path else "api", "status": a.status}
    if body:
        out["body"] = a.body
    return out


class KbApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        one = f"{PREFIX}/{{key:.+}}"  # keys may contain "/", like the CLI's relative paths
        return [web.get(PREFIX, self.list), web.get(one, self.get), web.put(one, self.put),
                web.delete(one, self.delete)]

    async def list(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            articles = await kb.list_articles(conn, s.tenant_id)
            counts = await kb.chunk_counts(conn, s.tenant_id)
        return web.json_response({"articles": [_article_json(a, counts.get(a.id, 0), body=False) for a in articles]})

    async def get(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        key = _key(request, for_write=False)
        async with self.pool.connection() as conn:
            article = await kb.get_article(conn, s.tenant_id, key)
            if article is None:
                _fail(404, "not_found", "no such article")
            counts = await kb.chunk_counts(conn, s.tenant_id, article.id)
        return web.json_response({"article": _article_json(article, counts.get(article.id, 0), body=True)})

    async def put(self, request: web.Request) -> web.Response:
        """Creates or replaces an article: 201 when new, 200 otherwise; ``changed`` says if it was re-embedded."""
        s = await self.auth.require(request, write=True, admin=True)
        key = _key(request, for_write=True)
        data = await _json_object(request)
        title, body, url, is_html = _article_fields(data, key)
        status = data.get("status")  # absent: a new article is published, an existing one keeps its status
        if status is not None and status not in STATUSES:
            _fail(422, "invalid", f"one of {', '.join(STATUSES)}", "status")
        result, created = await import_article(self.pool, s.tenant_id, key=key, text=body, is_html=is_html,
                                               title=title, url=url, status=status)
        async with self.pool.connection() as conn, conn.transaction():
            if result.changed:
                await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}",
                                   action="kb.article.created" if created else "kb.article.updated",
                                   subject_type="kb_article", subject_id=result.article_id,
                                   details={"key": key, "chunks": result.chunks})
            article = await kb.get_article(conn, s.tenant_id, key)
        if article is None:  # deleted by a concurrent request between the upsert and this read
            _fail(404, "not_found", "the article was deleted meanwhile")
        return web.json_response({"article": _article_json(article, result.chunks, body=False), "created": created,
                                  "changed": result.changed}, status=201 if created else 200)

    async def delete(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        key = _key(request, for_write=False)
        async with self.pool.connection() as conn, conn.transaction():
            article = await kb.get_article(conn, s.tenant_id, key)
            if article is None or not await kb.delete_article(conn, s.tenant_id, key):
                _fail(404, "not_found", "no such article")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="kb.article.deleted",
                               subject_type="kb_article", subject_id=article.id, details={"key": key})
        return web.json_response({"ok": True, "deleted": key})


def _article_fields(data: dict[str, Any], key: str) -> tuple[str, str, str | None, bool]:
    """Validates a PUT body into (title, body, url, is_html), naming the first field at fault."""
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        _fail(422, "invalid", "required text", "title")
    title = " ".join(title.split())
    if len(title) > MAX_TITLE_CHARS:
        _fail(422, "too_long", f"at most {MAX_TITLE_CHARS} characters", "title")
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        _fail(422, "invalid", "required text (Markdown or HTML)", "body")
    if len(body.encode("utf-8")) > MAX_BODY_BYTES:
        _fail(413, "too_large", f"at most {MAX_BODY_BYTES // 1024} KB", "body")
    url = data.get("url")
    if url is not None and (not isinstance(url, str) or len(url) > MAX_URL_CHARS
                            or not re.match(r"https?://[^\s/]+", url) or any(c.isspace() for c in url)):
        _fail(422, "invalid", f"an http(s) URL of at most {MAX_URL_CHARS} characters, or null", "url")
    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:
        _fail(422, "invalid", f"one of {', '.join(FORMATS)}", "format")
    # Without an explicit format, a body that opens with a tag is HTML (help-center exports are).
    is_html = fmt == "html" if fmt is not None else body.lstrip().startswith("<")
    if not chunking.parse(body, filename=key, is_html=is_html).body.strip():
        _fail(422, "invalid", "has no text once markup is removed", "body")
    return title, body, url, is_html
