"""Serves the console's pages and static files; the data comes from copilot.api and the socket."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from copilot.auth import Auth

WEB = Path(__file__).resolve().parent / "web"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
                               " connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class ConsolePages:
    def __init__(self, auth: Auth) -> None:
        self.auth = auth

    async def console(self, request: web.Request) -> web.StreamResponse:
        if await self.auth.current(request) is None:
            raise web.HTTPSeeOther("/console/login")
        return web.FileResponse(WEB / "console.html", headers=SECURITY_HEADERS)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console", self.console), web.static("/console/static", WEB, append_version=False)]
