"""The admins' KB-gap API: topics the knowledge base could not answer, and one click to draft an article.

A draft is a KB article with status "draft": stored and chunked like any other, but never retrieved
for answers until an admin publishes it here (or through the KB API with ``"status": "published"``).
Topics are recomputed on each request (two weeks of gap questions, a few hundred at most), so a
draft request names the topic by its key and the server rebuilds it from the same data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.gap_topics import Topic, draft_markdown, gap_topics
from agent_graph.kb_import import import_article
from copilot.auth import Auth
from copilot.kb_api import KEY, MAX_KEY_CHARS
from store import audit, kb

PREFIX = "/console/api/admin/gaps"
TOPIC_KEY = "c"  # topic keys are "c<conversation id>"


def _fail(status: int, code: str, message: str, field: str | None = None) -> NoReturn:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    exc = {404: web.HTTPNotFound, 415: web.HTTPUnsupportedMediaType, 422: web.HTTPUnprocessableEntity}[status]
    raise exc(text=json.dumps({"error": err}), content_type="application/json")


def topic_json(t: Topic) -> dict[str, Any]:
    return {"key": t.key, "title": t.title, "examples": t.examples, "volume": len(t.conversation_ids),
            "this_week": t.this_week, "last_week": t.last_week, "trend": t.trend, "outline": t.outline,
            "conversation_ids": t.conversation_ids[:50], "draft_key": draft_key(t)}


def draft_key(t: Topic) -> str:
    return f"drafts/gap-{t.key[1:]}"


class GapsApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PREFIX, self.list), web.post(f"{PREFIX}/{{key}}/draft", self.draft),
                web.post("/console/api/admin/kb-drafts/publish", self.publish)]

    async def list(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        topics = await gap_topics(self.pool, s.tenant_id, now=datetime.now(UTC))
        async with self.pool.connection() as conn:
            existing = {a.key: a.status for a in await kb.list_articles(conn, s.tenant_id)}
        return web.json_response({"topics": [{**topic_json(t), "draft_status": existing.get(draft_key(t))}
                                             for t in topics]})

    async def draft(self, request: web.Request) -> web.Response:
        """Turns a topic into an unpublished KB article (201), or refreshes the draft it already has."""
        s = await self.auth.require(request, write=True, admin=True)
        key = request.match_info["key"]
        if not key.startswith(TOPIC_KEY) or not key[1:].isdigit() or len(key) > 19:
            _fail(404, "not_found", "no such topic")
        topic = next((t for t in await gap_topics(self.pool, s.tenant_id, now=datetime.now(UTC)) if t.key == key), None)
        if topic is None:
            _fail(404, "not_found", "no such topic (the gap report changed; reload it)")
        async with self.pool.connection() as conn:
            article = await kb.get_article(conn, s.tenant_id, draft_key(topic))
        if article is not None and article.status == "published":
            _fail(422, "invalid", "this topic's article is already published; edit it in the knowledge base", "key")
        result, created = await import_article(self.pool, s.tenant_id, key=draft_key(topic), text=draft_markdown(topic),
                                               title=topic.title, status="draft")
        async with self.pool.connection() as conn, conn.transaction():
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="kb.draft.created",
                               subject_type="kb_article", subject_id=result.article_id,
                               details={"key": draft_key(topic), "topic": topic.key})
        return web.json_response({"article": {"key": draft_key(topic), "title": topic.title, "status": "draft",
                                              "chunks": result.chunks}, "created": created},
                                 status=201 if created else 200)

    async def publish(self, request: web.Request) -> web.Response:
        """Publishes a draft: from now on the AI may answer from it."""
        s = await self.auth.require(request, write=True, admin=True)
        if request.content_type != "application/json":
            _fail(415, "json_required", "send application/json", "Content-Type")
        try:
            data = await request.json()
        except ValueError:
            _fail(422, "invalid", "not valid JSON", "body")
        key = data.get("key") if isinstance(data, dict) else None
        if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or not KEY.fullmatch(key):
            _fail(422, "invalid", "an article key", "key")
        async with self.pool.connection() as conn, conn.transaction():
            article = await kb.get_article(conn, s.tenant_id, key)
            if article is None:
                _fail(404, "not_found", "no such article")
            await kb.set_status(conn, s.tenant_id, key, "published")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="kb.article.published",
                               subject_type="kb_article", subject_id=article.id, details={"key": key})
        return web.json_response({"ok": True, "key": key, "status": "published"})
