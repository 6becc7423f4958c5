"""REST v1 knowledge-base articles: list, get, create, replace, delete.

Writes go through ``agent_graph.kb_import.import_article``, the code path of ``switchboard kb
import`` and the console's KB page, so an article written here is chunked and re-embedded exactly as
those are (unchanged content costs no embedding; changed content replaces every old chunk). The
validation limits are the console's (``copilot.kb_api``). Articles are addressed by numeric id
here (keys may contain "/", which a path parameter cannot carry cleanly); ``key`` is set at creation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from agent_graph import chunking
from agent_graph.kb_import import import_article
from copilot.kb_api import KEY, MAX_BODY_BYTES, MAX_KEY_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS
from gateway.api.models import Strict
from gateway.api.operations import Operation
from gateway.api.routes import PREFIX, json_out, parse
from gateway.http_errors import FieldError
from store import audit, kb
from store.api_tokens import ApiToken

MAX_ID = 2**63 - 1
URL_PATTERN = r"^https?://[^\s/]+\S*$"


class ArticlePath(Strict):
    id: int = Field(ge=1, le=MAX_ID)


class ListArticlesQuery(Strict):
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=100_000)


class ArticleFields(Strict):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, pattern=r"\S")
    body: str = Field(min_length=1, max_length=MAX_BODY_BYTES, pattern=r"\S",
                      description=f"Markdown or HTML, at most {MAX_BODY_BYTES // 1024} KB")
    url: str | None = Field(default=None, max_length=MAX_URL_CHARS, pattern=URL_PATTERN)
    format: Literal["markdown", "html"] | None = Field(
        default=None, description="default: HTML when the body starts with a tag, else Markdown")


class CreateArticleRequest(ArticleFields):
    key: str = Field(min_length=1, max_length=MAX_KEY_CHARS, pattern=f"^{KEY.pattern}$",
                     description='unique per tenant, e.g. "billing/refunds"')


class ArticleOut(BaseModel):
    id: int
    key: str
    title: str
    url: str | None
    language: str
    updated_at: datetime
    chunks: int = Field(description="searchable passages; 0 means the AI cannot cite it")
    source: Literal["file", "api"] = Field(description="file: from `switchboard kb import`; api: written over HTTP")


class ArticleDetail(ArticleOut):
    body: str


class ArticlePage(BaseModel):
    data: list[ArticleOut] = Field(description="ordered by key")


class ArticleWritten(BaseModel):
    article: ArticleOut
    changed: bool = Field(description="true when the content changed and was re-embedded")


class ArticleDeleted(BaseModel):
    deleted: int


def _out(a: kb.Article, chunks: int) -> dict[str, object]:
    return {"id": a.id, "key": a.key, "title": a.title, "url": a.url, "language": a.language,
            "updated_at": a.updated_at, "chunks": chunks, "source": "file" if a.source_path else "api"}


def _not_found(article_id: int) -> FieldError:
    return FieldError("id", f"article {article_id} not found", status=404, code="not_found")


def _checked(fields: ArticleFields, key: str) -> tuple[str, str, bool]:
    """(title, body, is_html) once the limits pydantic cannot state hold, naming the field at fault."""
    if len(fields.body.encode("utf-8")) > MAX_BODY_BYTES:
        raise FieldError("body", f"at most {MAX_BODY_BYTES // 1024} KB", status=413, code="too_large")
    is_html = fields.format == "html" if fields.format else fields.body.lstrip().startswith("<")
    if not chunking.parse(fields.body, filename=key, is_html=is_html).body.strip():
        raise FieldError("body", "has no text once markup is removed")
    return " ".join(fields.title.split()), fields.body, is_html


class KbArticlesApi:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    def operations(self) -> list[Operation]:
        many, one = f"{PREFIX}/kb/articles", f"{PREFIX}/kb/articles/{{id}}"
        return [
            Operation("listKbArticles", "GET", many, "read", "List knowledge-base articles", self.list,
                      {200: (ArticlePage,)}, query=ListArticlesQuery, errors=(401, 403, 422, 429)),
            Operation("getKbArticle", "GET", one, "read", "A knowledge-base article with its body", self.get,
                      {200: (ArticleDetail,)}, path_params=ArticlePath, errors=(401, 403, 404, 422, 429)),
            Operation("createKbArticle", "POST", many, "write", "Create an article (embedded for retrieval)",
                      self.create, {201: (ArticleWritten,)}, body=CreateArticleRequest,
                      description="Chunked and embedded before the response: the AI can cite it at once."
                                  " A key that exists already is 409.",
                      errors=(401, 403, 409, 413, 422, 429)),
            Operation("replaceKbArticle", "PUT", one, "write", "Replace an article's title, body and URL",
                      self.replace, {200: (ArticleWritten,)}, body=ArticleFields, path_params=ArticlePath,
                      description="Re-embedded when the content changed (`changed: true`).",
                      errors=(401, 403, 404, 413, 422, 429)),
            Operation("deleteKbArticle", "DELETE", one, "write", "Delete an article and its passages",
                      self.delete, {200: (ArticleDeleted,)}, path_params=ArticlePath,
                      errors=(401, 403, 404, 422, 429)),
        ]

    async def list(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        q = parse(ListArticlesQuery, dict(request.query))
        async with self.pool.connection() as conn:
            articles = (await kb.list_articles(conn, token.tenant_id))[q.offset:q.offset + q.limit]
            counts = await kb.chunk_counts(conn, token.tenant_id)
        return json_out(ArticlePage(data=[ArticleOut(**_out(a, counts.get(a.id, 0))) for a in articles]))

    async def get(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        article_id = parse(ArticlePath, dict(request.match_info)).id
        async with self.pool.connection() as conn:
            article = await kb.get_article_by_id(conn, token.tenant_id, article_id)
            if article is None:
                raise _not_found(article_id)
            counts = await kb.chunk_counts(conn, token.tenant_id, article.id)
        return json_out(ArticleDetail(**_out(article, counts.get(article.id, 0)), body=article.body))

    async def create(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        req = parse(CreateArticleRequest, await request.json())
        if ".." in req.key:
            raise FieldError("key", "must not contain '..'")
        title, body, is_html = _checked(req, req.key)
        async with self.pool.connection() as conn:
            if await kb.get_article(conn, token.tenant_id, req.key) is not None:
                raise FieldError("key", f"an article with key {req.key!r} exists", status=409, code="conflict")
        return await self._write(token, req.key, title, body, is_html, req.url, status=201)

    async def replace(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        article_id = parse(ArticlePath, dict(request.match_info)).id
        req = parse(ArticleFields, await request.json())
        async with self.pool.connection() as conn:
            article = await kb.get_article_by_id(conn, token.tenant_id, article_id)
        if article is None:
            raise _not_found(article_id)
        title, body, is_html = _checked(req, article.key)
        return await self._write(token, article.key, title, body, is_html, req.url, status=200)

    async def _write(self, token: ApiToken, key: str, title: str, body: str, is_html: bool, url: str | None, *,
                     status: int) -> web.StreamResponse:
        result, created = await import_article(self.pool, token.tenant_id, key=key, text=body, is_html=is_html,
                                               title=title, url=url)
        async with self.pool.connection() as conn, conn.transaction():
            if result.changed:
                await audit.record(conn, token.tenant_id, actor=f"api:{token.id}",
                                   action="kb.article.created" if created else "kb.article.updated",
                                   subject_type="kb_article", subject_id=result.article_id,
                                   details={"key": key, "chunks": result.chunks})
            article = await kb.get_article_by_id(conn, token.tenant_id, result.article_id)
        if article is None:  # deleted by a concurrent request between the upsert and this read
            raise _not_found(result.article_id)
        return json_out(ArticleWritten(article=ArticleOut(**_out(article, result.chunks)), changed=result.changed),
                        status=status)

    async def delete(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        article_id = parse(ArticlePath, dict(request.match_info)).id
        async with self.pool.connection() as conn, conn.transaction():
            article = await kb.get_article_by_id(conn, token.tenant_id, article_id)
            if article is None or not await kb.delete_article(conn, token.tenant_id, article.key):
                raise _not_found(article_id)
            await audit.record(conn, token.tenant_id, actor=f"api:{token.id}", action="kb.article.deleted",
                               subject_type="kb_article", subject_id=article.id, details={"key": article.key})
        return json_out(ArticleDeleted(deleted=article_id))
