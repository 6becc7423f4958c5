"""The weekly digest for managers (leads and admins): stored digests, their chart images, and "make one now".

"Now" queues a ``digest`` job for the gateway's worker, which computes and renders it (charts are
CPU work, and the console cannot import the gateway); the page polls the list until it appears.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from copilot.console import SECURITY_HEADERS, WEB
from copilot.sessions import AgentSession
from store import digests, jobs

PREFIX = "/console/api/admin/digests"
MANAGER_ROLES = ("lead", "admin")
CHART_NAME = re.compile(r"^[a-z_]{1,40}$")


def _fail(status: int, code: str, message: str, field: str | None = None) -> NoReturn:
    err: dict[str, Any] = {"code": code, "message": message, **({"field": field} if field else {})}
    exc = {403: web.HTTPForbidden, 404: web.HTTPNotFound, 415: web.HTTPUnsupportedMediaType,
           422: web.HTTPUnprocessableEntity}[status]
    raise exc(text=json.dumps({"error": err}), content_type="application/json")


def digest_json(d: digests.Digest) -> dict[str, Any]:
    return {"id": d.id, "period_start": d.period_start.isoformat(), "period_end": d.period_end.isoformat(),
            "trigger": d.trigger, "created_at": d.created_at.isoformat(), "figures": d.figures,
            "charts": {name: f"{PREFIX}/{d.id}/charts/{name}.png" for name in d.charts}}


class DigestApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/digest", self.page), web.get(PREFIX, self.list), web.post(PREFIX, self.request_one),
                web.get(f"{PREFIX}/{{id}}", self.get), web.get(f"{PREFIX}/{{id}}/charts/{{name}}.png", self.chart)]

    async def _manager(self, request: web.Request, *, write: bool = False) -> AgentSession:
        s = await self.auth.require(request, write=write)
        if s.role not in MANAGER_ROLES:
            _fail(403, "forbidden", "leads and admins only")
        return s

    @staticmethod
    def _id(request: web.Request) -> int:
        raw = request.match_info["id"]
        if not raw.isdigit() or len(raw) > 18:
            _fail(404, "not_found", "no such digest")
        return int(raw)

    async def page(self, request: web.Request) -> web.StreamResponse:
        if await self.auth.current(request) is None:
            raise web.HTTPSeeOther("/console/login")
        return web.FileResponse(WEB / "digest.html", headers=SECURITY_HEADERS)

    async def list(self, request: web.Request) -> web.Response:
        s = await self._manager(request)
        async with self.pool.connection() as conn:
            found = await digests.recent(conn, s.tenant_id, limit=20)
        return web.json_response({"digests": [digest_json(d) for d in found]})

    async def get(self, request: web.Request) -> web.Response:
        s = await self._manager(request)
        async with self.pool.connection() as conn:
            found = await digests.get(conn, s.tenant_id, self._id(request))
        if found is None:
            _fail(404, "not_found", "no such digest")
        return web.json_response(digest_json(found))

    async def chart(self, request: web.Request) -> web.Response:
        s = await self._manager(request)
        name = request.match_info["name"]
        if not CHART_NAME.match(name):
            _fail(404, "not_found", "no such chart")
        async with self.pool.connection() as conn:
            png = await digests.chart(conn, s.tenant_id, self._id(request), name)
        if png is None:
            _fail(404, "not_found", "no such chart")
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=86400"})

    async def request_one(self, request: web.Request) -> web.Response:
        """Body (optional): ``{"email": true}`` also mails it to every lead and admin."""
        s = await self._manager(request, write=True)
        data: Any = {}
        if request.can_read_body:
            if request.content_type != "application/json":
                _fail(415, "json_required", "send application/json", "Content-Type")
            try:
                data = await request.json()
            except ValueError:
                _fail(422, "invalid", "not valid JSON", "body")
        if not isinstance(data, dict) or any(k != "email" for k in data):
            _fail(422, "invalid", "an object with only the optional field email", "body")
        if not isinstance(data.get("email", False), bool):
            _fail(422, "invalid", "true or false", "email")
        async with self.pool.connection() as conn:
            job_id = await jobs.enqueue(conn, s.tenant_id, digests.DIGEST, dedupe_key=digests.DIGEST,
                                        payload={"email": bool(data.get("email"))})
        return web.json_response({"queued": job_id is not None}, status=202)
