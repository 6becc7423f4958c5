"""The "set your password" page for an agent invited by a one-time link (a new tenant's first admin).

Opening the link (GET) only shows the form; the password is set, and the link used up, by the POST.
Mail scanners and link previews open every link they see, so a GET must change nothing. The link
itself is the credential: the form posts back to the same secret URL, so a cross-site request
cannot forge it without knowing the token.
"""

from __future__ import annotations

import html

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.passwords import MIN_LENGTH, hash_password
from store import audit, one_time_tokens

PURPOSE = "set_password"
PATH = "/console/set-password/"
MAX_PASSWORD = 1024


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PATH}{token}"


class SetPasswordPage:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH + "{token}", self.page), web.post(PATH + "{token}", self.submit)]

    async def page(self, request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
        async with self.pool.connection() as conn:
            found = await one_time_tokens.peek(conn, request.match_info["token"], purpose=PURPOSE)
        if found is None:
            return _expired()
        email = html.escape(str(found.data.get("email", "")))
        alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        return _page("Set your password", f"""<p class="muted">Account <strong>{email}</strong></p>{alert}
<form method="post">
<label for="password">New password (at least {MIN_LENGTH} characters)</label>
<input id="password" name="password" type="password" autocomplete="new-password" minlength="{MIN_LENGTH}" required>
<label for="confirm">Repeat it</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
<button type="submit">Set password</button></form>""", status=status)

    async def submit(self, request: web.Request) -> web.Response:
        form = await request.post()
        password = str(form.get("password", ""))[:MAX_PASSWORD + 1]
        if len(password) > MAX_PASSWORD:
            return await self.page(request, error=f"At most {MAX_PASSWORD} characters.", status=422)
        if len(password) < MIN_LENGTH:
            return await self.page(request, error=f"Use at least {MIN_LENGTH} characters.", status=422)
        if password != str(form.get("confirm", "")):
            return await self.page(request, error="The two passwords differ.", status=422)
        async with self.pool.connection() as conn:  # a dead link must not cost an argon2 hash
            if await one_time_tokens.peek(conn, request.match_info["token"], purpose=PURPOSE) is None:
                return _expired()
        password_hash = hash_password(password)  # before the transaction: hashing is deliberately slow
        async with self.pool.connection() as conn, conn.transaction():
            used = await one_time_tokens.use(conn, request.match_info["token"], purpose=PURPOSE)
            if used is None:
                return _expired()
            # A new password ends every other session (session_version) and any lockout.
            await conn.execute(
                "UPDATE agents SET password_hash = %s, session_version = session_version + 1, failed_logins = 0,"
                " locked_until = NULL WHERE tenant_id = %s AND id = %s",
                (password_hash, used.tenant_id, used.subject_id))
            await audit.record(conn, used.tenant_id, actor=f"agent:{used.subject_id}", action="agent.password_set",
                               subject_type="agent", subject_id=used.subject_id, details={"via": "one-time link"})
        return _page("Password set", '<p>You can now <a href="/console/login">sign in</a>.</p>')


def _expired() -> web.Response:
    return _page("Link expired", "<p>This link is no longer valid. Ask your administrator for a new one.</p>",
                 status=410)


def _page(title: str, body: str, *, status: int = 200) -> web.Response:
    text = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">'
            f'<title>{html.escape(title)} · Switchboard</title><link rel="stylesheet" href="/console/static/console.css">'
            f'</head><body class="login"><main class="login-card"><h1>{html.escape(title)}</h1>{body}</main></body></html>')
    return web.Response(text=text, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
