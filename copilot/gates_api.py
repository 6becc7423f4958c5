"""Admins see which categories the AI may answer on its own, and the evidence (page ``/console/gates``).

Gates are measured per classifier version (``agent_graph.tenant_gates``); this shows the serving
version's: threshold, measured precision, how many held-back answers back it, and why.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from copilot.console import SECURITY_HEADERS, WEB
from store import category_gates, classifiers, tenants


class GatesApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/gates", self.page), web.get("/console/api/admin/gates", self.show)]

    async def page(self, request: web.Request) -> web.StreamResponse:
        if await self.auth.current(request) is None:
            raise web.HTTPSeeOther("/console/login")
        return web.FileResponse(WEB / "gates.html", headers=SECURITY_HEADERS)

    async def show(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, s.tenant_id)
            serving = await classifiers.latest_model(conn, s.tenant_id)
            rows = await category_gates.for_version(conn, s.tenant_id, serving.version) if serving else []
        assert tenant is not None
        gates: list[dict[str, Any]] = [
            {**r, "computed_at": r["computed_at"].isoformat()} for r in rows]
        return web.json_response({
            "model_version": serving.version if serving else None,
            "target": gates[0]["target"] if gates else tenant.setting("auto_gate_precision") or 0.98,
            "dev_n": gates[0]["dev_n"] if gates else 0,
            "gates": gates,
            "auto_gates": tenant.setting("auto_gates"),
        })
