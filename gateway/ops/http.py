"""Ops HTTP routes: the reports API (admins), agents' notifications and availability, the CSAT page."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from gateway.http_errors import FieldError
from gateway.ops import reports
from gateway.ops.csat import CsatService
from gateway.ops.routing import SkillRouter
from store import notifications

MAX_DAYS = 365


def parse_days(raw: str | None, default: int = 30) -> int:
    if raw is None:
        return default
    if not raw.strip().isdigit() or len(raw.strip()) > 4 or not 1 <= int(raw) <= MAX_DAYS:
        raise FieldError("days", f"must be a whole number from 1 to {MAX_DAYS}")
    return int(raw)


async def _json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise FieldError("Content-Type", "send application/json", status=415, code="json_required")
    try:
        data = await request.json()
    except ValueError as exc:
        raise FieldError("body", "must be JSON") from exc
    if not isinstance(data, dict):
        raise FieldError("body", "must be a JSON object")
    return data


class OpsHttp:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth, router: SkillRouter, base_url: str) -> None:
        self.pool = pool
        self.auth = auth
        self.router = router
        self.csat = CsatService(pool, base_url, router.clock)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/reports/overview", self.overview),
            web.get("/api/reports/agents", self.agents),  # leads and admins
            web.get("/api/reports/handling", self.handling),  # leads and admins
            web.get("/console/api/notifications", self.notifications),
            web.post("/console/api/notifications/read", self.mark_read),
            web.post("/console/api/availability", self.availability),
            *self.csat.routes(),
        ]

    async def overview(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request, admin=True)
        days = parse_days(request.query.get("days"))
        async with self.pool.connection() as conn:
            body = await reports.overview(conn, session.tenant_id, days=days, now=self.router.clock())
        return web.json_response(body)

    async def agents(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request, lead=True)
        days = parse_days(request.query.get("days"))
        async with self.pool.connection() as conn:
            body = await reports.agents(conn, session.tenant_id, days=days, now=self.router.clock())
        return web.json_response(body)

    async def handling(self, request: web.Request) -> web.Response:
        session = await self.auth.require(request, lead=True)
        days = parse_days(request.query.get("days"))
        async with self.pool.connection() as conn:
            try:
                body = await reports.handling(conn, session.tenant_id, days=days, now=self.router.clock())
            except ValueError as exc:  # a bad ``costs`` tenant setting: say which field
                field, _, message = str(exc).partition(": ")
                raise FieldError(field, message, status=409, code="bad_setting") from exc
        return web.json_response(body)

    async def notifications(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        unread = request.query.get("unread") in ("1", "true")
        async with self.pool.connection() as conn:
            found = await notifications.list_for(conn, s.tenant_id, s.agent_id, unread_only=unread)
        return web.json_response({"notifications": [
            {"id": n.id, "kind": n.kind, "conversation_id": n.conversation_id, "title": n.title, "body": n.body,
             "created_at": n.created_at.isoformat(), "read": n.read_at is not None} for n in found]})

    async def mark_read(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True)
        ids = (await _json(request)).get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids) \
                or len(ids) > 500:
            raise FieldError("ids", "a list of notification ids")
        async with self.pool.connection() as conn:
            n = await notifications.mark_read(conn, s.tenant_id, s.agent_id, ids, now=self.router.clock())
        return web.json_response({"ok": True, "marked": n})

    async def availability(self, request: web.Request) -> web.Response:
        """Sets the caller's availability (admins may set anyone's); going away re-queues their conversations."""
        s = await self.auth.require(request, write=True)
        data = await _json(request)
        available = data.get("available")
        if not isinstance(available, bool):
            raise FieldError("available", "true or false")
        agent_id = data.get("agent_id", s.agent_id)
        if not isinstance(agent_id, int) or isinstance(agent_id, bool):
            raise FieldError("agent_id", "must be an integer")
        if agent_id != s.agent_id and not s.is_admin:
            raise FieldError("agent_id", "only admins change someone else's availability", status=403,
                             code="forbidden")
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT 1 FROM agents WHERE tenant_id = %s AND id = %s", (s.tenant_id, agent_id))
            if await cur.fetchone() is None:
                raise FieldError("agent_id", "no such agent")
            requeued = await self.router.set_availability(conn, s.tenant_id, agent_id, available,
                                                          actor=f"agent:{s.agent_id}")
        return web.json_response({"ok": True, "available": available, "requeued": requeued})
