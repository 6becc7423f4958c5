"""Agent performance for leads and admins: each agent against the team on their own category/urgency mix.

The figures and their definitions live in ``store.agent_performance``; this module only serves the
page and the JSON (window: conversations created in the last ``days`` days).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from copilot.console import SECURITY_HEADERS, WEB
from store import agent_performance

PATH = "/console/api/agents/performance"
MAX_DAYS = 365


def window_days(raw: str | None, default: int = 30) -> int:
    """``days`` from the query string; a 422 naming the field for anything but 1–365."""
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 3 or not 1 <= int(raw) <= MAX_DAYS:
        raise web.HTTPUnprocessableEntity(
            text=f'{{"error": {{"code": "invalid", "field": "days", "message": "a whole number from 1 to {MAX_DAYS}"}}}}',
            content_type="application/json")
    return int(raw)


class AgentPerformanceApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/agents-performance", self.page), web.get(PATH, self.report)]

    async def page(self, request: web.Request) -> web.StreamResponse:
        if await self.auth.current(request) is None:
            raise web.HTTPSeeOther("/console/login")
        return web.FileResponse(WEB / "agents_perf.html", headers=SECURITY_HEADERS)

    async def report(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, lead=True)
        days = window_days(request.query.get("days"))
        until = datetime.now(UTC)
        async with self.pool.connection() as conn:
            body = await agent_performance.agents_report(conn, s.tenant_id, until - timedelta(days=days), until)
        return web.json_response({"days": days, **body})
