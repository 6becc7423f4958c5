"""Console login: argon2 passwords, signed HTTP-only SameSite cookies, CSRF, lockout, logout."""

from __future__ import annotations

import html
import secrets
from datetime import UTC, datetime, timedelta

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.passwords import verify_password
from copilot.sessions import COOKIE, MAX_AGE_SECONDS, AgentSession, SessionCodec
from store import agents, audit

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
LOGIN_NONCE = "sb_login"
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$8aS5ltc5J2yWArXB6y3v7iE0iUIQ2Yy3nW5c8m0Qh2k"


class Auth:
    def __init__(self, pool: AsyncConnectionPool, codec: SessionCodec, *, secure_cookies: bool) -> None:
        self.pool = pool
        self.codec = codec
        self.secure = secure_cookies

    async def current(self, request: web.Request) -> AgentSession | None:
        """The signed-in agent, checked against the database (disabled or logged-out sessions fail)."""
        raw = request.cookies.get(COOKIE)
        data = self.codec.load(raw) if raw else None
        if data is None:
            return None
        agent_id, tenant_id, version = data
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT role, session_version FROM agents WHERE tenant_id = %s AND id = %s", (tenant_id, agent_id))
            row = await cur.fetchone()
        if row is None or row["session_version"] != version:
            return None
        return AgentSession(agent_id, tenant_id, version, row["role"])

    async def require(self, request: web.Request, *, write: bool = False, admin: bool = False,
                      lead: bool = False) -> AgentSession:
        """``lead``: team leads and admins (leads sit between agents and admins); ``admin``: admins only."""
        session = await self.current(request)
        if session is None:
            raise web.HTTPUnauthorized(text='{"error": {"code": "unauthorized", "message": "sign in first"}}',
                                       content_type="application/json")
        if write and not self.codec.csrf_ok(request.cookies.get(COOKIE, ""), request.headers.get("X-CSRF-Token")):
            raise web.HTTPForbidden(text='{"error": {"code": "csrf", "field": "X-CSRF-Token", '
                                         '"message": "missing or wrong CSRF token"}}', content_type="application/json")
        if admin and not session.is_admin:
            raise web.HTTPForbidden(text='{"error": {"code": "forbidden", "message": "admins only"}}',
                                    content_type="application/json")
        if lead and session.role not in ("lead", "admin"):
            raise web.HTTPForbidden(text='{"error": {"code": "forbidden", "message": "team leads and admins only"}}',
                                    content_type="application/json")
        return session

    # -- pages ------------------------------------------------------------------------------------
    async def login_page(self, request: web.Request, *, error: str | None = None, email: str = "",
                         status: int = 200) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        body = LOGIN_HTML.format(
            csrf=self.codec.login_csrf(nonce), email=html.escape(email),
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
        )
        resp = web.Response(text=body, content_type="text/html", status=status)
        resp.set_cookie(LOGIN_NONCE, nonce, httponly=True, samesite="Strict", secure=self.secure, max_age=3600,
                        path="/console")
        return resp

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        email = str(form.get("email", ""))[:320].strip().lower()
        password = str(form.get("password", ""))[:1024]
        nonce = request.cookies.get(LOGIN_NONCE, "")
        if not nonce or not secrets.compare_digest(self.codec.login_csrf(nonce), str(form.get("csrf", ""))):
            return await self.login_page(request, error="Your session expired; please try again.", email=email,
                                         status=403)
        if not email or not password:
            return await self.login_page(request, error="Enter your email and password.", email=email, status=422)
        async with self.pool.connection() as conn, conn.transaction():
            row = await agents.login_record(conn, email)
            now = datetime.now(UTC)
            if row is None:
                verify_password(_DUMMY_HASH, password)  # same work as a real check: no account enumeration by timing
                return await self.login_page(request, error="Wrong email or password.", email=email, status=401)
            if row["locked_until"] and row["locked_until"] > now:
                return await self.login_page(
                    request, error="Too many failed attempts. Try again in a few minutes.", email=email, status=429)
            if not verify_password(row["password_hash"], password):
                failures = row["failed_logins"] + 1
                locked = now + LOCKOUT if failures >= MAX_FAILURES else None
                await conn.execute(
                    "UPDATE agents SET failed_logins = %s, locked_until = %s WHERE id = %s",
                    (0 if locked else failures, locked, row["id"]))
                await audit.record(conn, row["tenant_id"], actor=f"agent:{row['id']}", action="login.failed",
                                   subject_type="agent", subject_id=row["id"], details={"locked": bool(locked)})
                return await self.login_page(request, error="Wrong email or password.", email=email, status=401)
            await conn.execute("UPDATE agents SET failed_logins = 0, locked_until = NULL WHERE id = %s", (row["id"],))
            session = AgentSession(row["id"], row["tenant_id"], row["session_version"], row["role"])
        resp = web.HTTPSeeOther("/console")
        resp.set_cookie(COOKIE, self.codec.dump(session), httponly=True, samesite="Strict", secure=self.secure,
                        max_age=MAX_AGE_SECONDS, path="/")
        resp.del_cookie(LOGIN_NONCE, path="/console")
        raise resp

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request, write=True)
        async with self.pool.connection() as conn:
            await conn.execute("UPDATE agents SET session_version = session_version + 1 WHERE tenant_id = %s AND id = %s",
                               (session.tenant_id, session.agent_id))
        resp = web.json_response({"ok": True})
        resp.del_cookie(COOKIE, path="/")
        return resp

    def routes(self) -> list[web.RouteDef]:
        async def page(request: web.Request) -> web.Response:
            return await self.login_page(request)

        return [web.get("/console/login", page), web.post("/console/login", self.login),
                web.post("/console/logout", self.logout)]


LOGIN_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Switchboard</title><link rel="stylesheet" href="/console/static/console.css"></head>
<body class="login"><main class="login-card">
<h1>Switchboard</h1><p class="muted">Agent console</p>{error}
<form method="post" action="/console/login">
<input type="hidden" name="csrf" value="{csrf}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="{email}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></main></body></html>
"""
