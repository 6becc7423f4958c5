"""The console's JSON API. Every handler is scoped to the signed-in agent's tenant: another tenant's
conversation id is simply not found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.ports import Router
from copilot import views
from copilot.auth import Auth
from copilot.ports import ReplyPath
from copilot.sessions import COOKIE
from formatters import render
from store import agents, audit, conversations, handoffs, past_conversations, suggestions, tenants, triage
from store.attachments import AttachmentRejected, send_with
from store.conversations import NotFound, TransitionError
from store.models import (
    AuthorKind,
    Channel,
    ConversationStatus,
    Direction,
    RenderContext,
    Reply,
    ReplyKind,
)

S = ConversationStatus
DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
MAX_REPLY_CHARS = 20_000


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    return web.json_response({"error": err}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text='{"error": {"code": "json_required", "field": "Content-Type",'
                                                ' "message": "send application/json"}}', content_type="application/json")
    data = await request.json()
    if not isinstance(data, dict):
        raise web.HTTPUnprocessableEntity(text='{"error": {"code": "invalid", "field": "body", '
                                               '"message": "must be a JSON object"}}', content_type="application/json")
    return data


def _text(data: dict[str, Any], field: str, max_len: int = MAX_REPLY_CHARS) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise web.HTTPUnprocessableEntity(text=json.dumps({"error": {"code": "invalid", "field": field,
                                                                      "message": "required text"}}),
                                          content_type="application/json")
    if len(value) > max_len:
        raise web.HTTPUnprocessableEntity(text=json.dumps({"error": {"code": "too_long", "field": field,
                                                                      "message": f"at most {max_len} characters"}}),
                                          content_type="application/json")
    return value


def _conv_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound(text='{"error": {"code": "not_found", "message": "no such conversation"}}',
                               content_type="application/json")
    return int(raw)


class ConsoleApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth, reply_path: ReplyPath, router: Router,
                 base_url: str) -> None:
        self.pool = pool
        self.auth = auth
        self.reply_path = reply_path
        self.router = router
        self.base_url = base_url

    def routes(self) -> list[web.RouteDef]:
        p = "/console/api"
        return [
            web.get(f"{p}/me", self.me),
            web.get(f"{p}/agents", self.agents),
            web.get(f"{p}/dashboards", self.dashboards),
            web.get(f"{p}/queue", self.queue),
            web.get(f"{p}/conversations/{{id}}", self.conversation),
            web.get(f"{p}/conversations/{{id}}/preview", self.preview),
            web.get(f"{p}/conversations/{{id}}/handoff", self.handoff),
            web.post(f"{p}/conversations/{{id}}/reply", self.reply),
            web.post(f"{p}/conversations/{{id}}/note", self.note),
            web.post(f"{p}/conversations/{{id}}/takeover", self.takeover),
            web.post(f"{p}/conversations/{{id}}/handback", self.handback),
            web.post(f"{p}/conversations/{{id}}/assign", self.assign),
            web.post(f"{p}/conversations/{{id}}/resolve", self.resolve),
            web.post(f"{p}/conversations/{{id}}/reopen", self.reopen),
            web.post(f"{p}/conversations/{{id}}/classification", self.override),
            web.post(f"{p}/suggestions/{{id}}/discard", self.discard),
        ]

    async def me(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT a.id, a.name, a.email, a.role, a.skills, t.slug, t.name AS tenant FROM agents a"
                " JOIN tenants t ON t.id = a.tenant_id WHERE a.tenant_id = %s AND a.id = %s", (s.tenant_id, s.agent_id))
            row = await cur.fetchone()
            tenant = await tenants.get(conn, s.tenant_id)
        assert row is not None
        categories = tenant.setting("categories") if tenant else list(tenants.DEFAULT_CATEGORIES)
        return web.json_response({"agent": views._jsonable(row), "categories": list(categories),
                                  "csrf": self.auth.codec.csrf_for(request.cookies.get(COOKIE, ""))})

    async def agents(self, request: web.Request) -> web.Response:
        """The tenant's agents, for the assign control (no emails of other tenants, no secrets)."""
        s = await self.auth.require(request)
        async with self.pool.connection() as conn:
            people = await agents.list_all(conn, s.tenant_id)
        return web.json_response({"agents": [{"id": a.id, "name": a.name, "role": a.role, "skills": list(a.skills),
                                              "available": a.available} for a in people]})

    async def dashboards(self, request: web.Request) -> web.Response:
        """The managers' Grafana dashboards shipped under dashboards/ (title, uid, file, panel count)."""
        await self.auth.require(request)
        found = []
        for path in sorted(DASHBOARDS.glob("*.json")):
            try:
                board = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            found.append({"title": str(board.get("title") or path.stem), "uid": str(board.get("uid") or ""),
                          "file": f"dashboards/{path.name}", "panels": len(board.get("panels") or [])})
        return web.json_response({"dashboards": found})

    async def queue(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        view = request.query.get("view", "all")
        if view not in views.QUEUE_VIEWS:
            return _error(422, "invalid", f"view must be one of {', '.join(views.QUEUE_VIEWS)}", "view")
        async with self.pool.connection() as conn:
            items = await views.queue(conn, s.tenant_id, s.agent_id, view)
        return web.json_response({"view": view, "items": items})

    async def conversation(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        cid = _conv_id(request)
        async with self.pool.connection() as conn:
            try:
                detail = await views.conversation_detail(conn, s.tenant_id, cid)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
            last = max((m["seq"] for m in detail["timeline"]), default=0)
            await conn.execute(
                "INSERT INTO conversation_reads (tenant_id, agent_id, conversation_id, seq) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (tenant_id, agent_id, conversation_id) DO UPDATE SET seq = greatest(conversation_reads.seq,"
                " excluded.seq)", (s.tenant_id, s.agent_id, cid, last))
        return web.json_response(detail)

    async def preview(self, request: web.Request) -> web.Response:
        """How the reply will look on the customer's channel (formatters are pure: no side effects)."""
        s = await self.auth.require(request)
        cid = _conv_id(request)
        text = request.query.get("text", "")[:MAX_REPLY_CHARS]
        async with self.pool.connection() as conn:
            try:
                conv = await conversations.get(conn, s.tenant_id, cid)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
        channel = Channel(request.query.get("channel", conv.last_channel.value)) \
            if request.query.get("channel", conv.last_channel.value) in {c.value for c in Channel} else conv.last_channel
        if channel in (Channel.API, Channel.WEBHOOK) or not text.strip():
            return web.json_response({"channel": channel.value, "payload": None})
        ctx = RenderContext(conversation_id=cid, tenant_name="", subject=conv.subject, base_url=self.base_url)
        return web.json_response({"channel": channel.value,
                                  "payload": render(channel, Reply(ReplyKind.ANSWER, text), ctx)})

    async def handoff(self, request: web.Request) -> web.Response:
        """The AI's escalation summary for this conversation (the latest), or null when there is none."""
        s = await self.auth.require(request)
        cid = _conv_id(request)
        async with self.pool.connection() as conn:
            try:
                await conversations.get(conn, s.tenant_id, cid)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
            summary = await handoffs.latest(conn, s.tenant_id, cid)
        if summary is None:
            return web.json_response({"handoff": None})
        return web.json_response({"handoff": {
            "id": summary.id, "reason": summary.reason, "reported": summary.reported, "tried": list(summary.tried),
            "likely_cause": summary.likely_cause, "summary": summary.summary,
            "sources": [{"id": x.id, "title": x.title, "snippet": x.snippet, "score": x.score, "url": x.url,
                         "kind": x.kind} for x in summary.sources],
            "classification": summary.classification, "assigned_agent_id": summary.assigned_agent_id,
            "created_at": summary.created_at.isoformat()}})

    async def reply(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        cid = _conv_id(request)
        data = await _body(request)
        text = _text(data, "text")
        suggestion_id = data.get("suggestion_id")
        if suggestion_id is not None and (not isinstance(suggestion_id, int) or isinstance(suggestion_id, bool)):
            return _error(422, "invalid", "must be an integer", "suggestion_id")
        channel_name = data.get("channel")
        if channel_name is not None and channel_name not in {c.value for c in Channel if c not in (Channel.API, Channel.WEBHOOK)}:
            return _error(422, "invalid", "unknown channel", "channel")
        attachment_ids = data.get("attachment_ids") or []
        if not isinstance(attachment_ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in attachment_ids) or len(attachment_ids) > 100:
            return _error(422, "invalid", "a list of attachment ids", "attachment_ids")
        async with self.pool.connection() as conn, conn.transaction():
            try:
                conv = await conversations.get(conn, s.tenant_id, cid, lock=True)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
            if conv.assignee_id != s.agent_id:  # replying takes the conversation over from the AI or the queue
                await conversations.assign(conn, s.tenant_id, cid, s.agent_id, actor=f"agent:{s.agent_id}")
            cur = await conn.execute(
                "SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = %s AND direction = 'in'"
                " ORDER BY seq DESC LIMIT 1", (s.tenant_id, cid))
            last_in = await cur.fetchone()
            msg = await self.reply_path(conn, s.tenant_id, cid, Reply(ReplyKind.ANSWER, text),
                                        author_kind=AuthorKind.AGENT, author_id=s.agent_id,
                                        answers_message_id=last_in["id"] if last_in else None,
                                        channel=Channel(channel_name) if channel_name else None,
                                        base_url=self.base_url)
            try:  # the same transaction as the outbox row: the sender finds the files with the message
                await send_with(conn, s.tenant_id, attachment_ids, uploader=f"agent:{s.agent_id}",
                                conversation_id=cid, message_id=msg.id)
            except AttachmentRejected as exc:
                raise web.HTTPUnprocessableEntity(text=json.dumps({"error": {
                    "code": "invalid", "field": exc.field, "message": exc.message}}),
                    content_type="application/json") from exc
            await conversations.transition(conn, s.tenant_id, cid, S.WAITING_CUSTOMER, actor=f"agent:{s.agent_id}",
                                           reason="agent replied")
            outcome = None
            if suggestion_id is not None:
                outcome = await suggestions.decide(conn, s.tenant_id, suggestion_id, sent_text=text,
                                                   sent_message_id=msg.id)
        return web.json_response({"ok": True, "message_id": msg.id, "seq": msg.seq, "suggestion": outcome})

    async def note(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        cid = _conv_id(request)
        text = _text(await _body(request), "text")
        async with self.pool.connection() as conn, conn.transaction():
            try:
                conv = await conversations.get(conn, s.tenant_id, cid)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
            msg = await conversations.append_message(
                conn, s.tenant_id, conv.id, direction=Direction.INTERNAL, author_kind=AuthorKind.AGENT,
                author_id=s.agent_id, channel=conv.last_channel, text=text)
        return web.json_response({"ok": True, "message_id": msg.id, "seq": msg.seq})

    async def _move(self, request: web.Request, to: ConversationStatus, reason: str,
                    assignee: int | None = None, admin: bool = False) -> web.Response:
        s = await self.auth.require(request, write=True, admin=admin)
        cid = _conv_id(request)
        async with self.pool.connection() as conn, conn.transaction():
            try:
                if assignee is not None:
                    conv = await conversations.assign(conn, s.tenant_id, cid, assignee, actor=f"agent:{s.agent_id}")
                else:
                    conv = await conversations.transition(conn, s.tenant_id, cid, to, actor=f"agent:{s.agent_id}",
                                                          reason=reason)
                    if to is S.RESOLVED:  # the worker indexes it as context for similar future cases
                        await past_conversations.enqueue_remember(conn, s.tenant_id, cid)
            except NotFound:
                return _error(404, "not_found", "no such conversation")
            except TransitionError as exc:
                return _error(409, "conflict", str(exc), "status")
        return web.json_response({"ok": True, "status": conv.status.value, "assignee_id": conv.assignee_id})

    async def takeover(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        return await self._move(request, S.ASSIGNED, "agent took over", assignee=s.agent_id)

    async def handback(self, request: web.Request) -> web.Response:
        return await self._move(request, S.AI_ACTIVE, "agent handed back to the AI")

    async def resolve(self, request: web.Request) -> web.Response:
        return await self._move(request, S.RESOLVED, "agent resolved")

    async def reopen(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        return await self._move(request, S.ASSIGNED, "agent reopened", assignee=s.agent_id)

    async def assign(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        data = await _body(request)
        agent_id = data.get("agent_id")
        if not isinstance(agent_id, int) or isinstance(agent_id, bool):
            return _error(422, "invalid", "must be an integer", "agent_id")
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT 1 FROM agents WHERE tenant_id = %s AND id = %s", (s.tenant_id, agent_id))
            if await cur.fetchone() is None:
                return _error(422, "invalid", "no such agent", "agent_id")
        return await self._move(request, S.ASSIGNED, "assigned", assignee=agent_id)

    async def override(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        cid = _conv_id(request)
        data = await _body(request)
        changes = {k: v for k, v in data.items() if k in triage.OVERRIDABLE}
        if not changes or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in changes.values()):
            return _error(422, "invalid", f"give one of {', '.join(triage.OVERRIDABLE)} as text", "body")
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT message_id FROM message_classifications WHERE tenant_id = %s AND conversation_id = %s"
                " ORDER BY id DESC LIMIT 1", (s.tenant_id, cid))
            row = await cur.fetchone()
            if row is None:
                return _error(404, "not_found", "this conversation has no classification yet")
            for field, value in changes.items():
                await triage.override(conn, s.tenant_id, row["message_id"], field=field, new_value=value,
                                      agent_id=s.agent_id)
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="classification.overridden",
                               subject_type="conversation", subject_id=cid, details=changes)
        return web.json_response({"ok": True, "changed": changes})

    async def discard(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        raw = request.match_info["id"]
        if not raw.isdigit():
            return _error(404, "not_found", "no such suggestion")
        async with self.pool.connection() as conn, conn.transaction():
            outcome = await suggestions.decide(conn, s.tenant_id, int(raw), sent_text=None, sent_message_id=None)
        if outcome is None:
            return _error(404, "not_found", "no such open suggestion")
        return web.json_response({"ok": True, "suggestion": outcome})
