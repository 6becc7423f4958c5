"""A local stand-in for Slack's Web API at its HTTP boundary, speaking its documented responses.

Slack cannot be reached from the test machines, so ``AsyncWebClient(base_url=…)`` points here. It
answers ``users.info`` and ``chat.postMessage`` the way slack.com does (HTTP 200 with ``{"ok": true,
…}``, HTTP 200 with ``{"ok": false, "error": …}``, HTTP 429 with ``Retry-After``), and records every
call so tests can assert what was sent, where, and how often.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers.procs import free_port


@dataclass
class Call:
    method: str
    token: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SlackApiStandIn:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}  # user id → users.info "user" object
        self.scripts: dict[str, list[Scripted]] = {}  # method → responses to give before the normal one
        self.delays: dict[str, float] = {}  # method → seconds to wait before answering
        self.base_url = ""
        self._ts = 0

    def add_user(self, user_id: str, team_id: str, email: str | None, name: str = "Customer",
                 email_confirmed: bool = True) -> None:
        profile: dict[str, Any] = {"real_name": name, "display_name": name}
        if email:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "team_id": team_id, "name": name.lower(), "real_name": name,
                               "is_bot": False, "is_email_confirmed": email_confirmed, "profile": profile}

    def script(self, method: str, *responses: Scripted) -> None:
        self.scripts.setdefault(method, []).extend(responses)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
            args.update({k: v for k, v in request.query.items()})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call(method, token, args))
        if method in self.delays:
            await asyncio.sleep(self.delays[method])  # simulating a slow Slack, not synchronizing
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        queued = self.scripts.get(method)
        if queued:
            s = queued.pop(0)
            return web.json_response(s.body, status=s.status, headers=s.headers)
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user})
        if method == "chat.postMessage":
            self._ts += 1
            ts = f"{int(time.time())}.{self._ts:06d}"
            return web.json_response({"ok": True, "channel": args.get("channel"), "ts": ts,
                                      "message": {"type": "message", "text": args.get("text"), "ts": ts,
                                                  "thread_ts": args.get("thread_ts"), "bot_id": "B0OURBOT"}})
        return web.json_response({"ok": False, "error": "unknown_method"})


def sign(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}"))."""
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@asynccontextmanager
async def running_slack_api() -> AsyncIterator[SlackApiStandIn]:
    api = SlackApiStandIn()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", api.handle)  # users.info is a GET, chat.postMessage a POST
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    api.base_url = f"http://127.0.0.1:{port}/api/"
    try:
        yield api
    finally:
        await runner.cleanup()
