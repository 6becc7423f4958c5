"""A real HTTP webhook receiver on a loopback port: records every request, fails the first N on purpose,
and processes each ``Webhook-Id`` once, as a receiver following the README would."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers.procs import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookReceiver:
    url: str = ""
    fail_first: int = 0  # answer 503 to this many requests before accepting
    fail_always: bool = False
    requests: list[Received] = field(default_factory=list)
    processed: Counter[str] = field(default_factory=Counter)  # Webhook-Id → times its effect was applied
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        failing = self.fail_always or len(self.requests) < self.fail_first
        status = 503 if failing else 200
        self.requests.append(Received(dict(request.headers), body, status))
        if failing:
            return web.Response(status=503, headers={"Retry-After": "0"}, text="try again")
        webhook_id = request.headers["Webhook-Id"]
        if webhook_id not in self.events:  # the idempotency check a receiver makes
            self.processed[webhook_id] += 1
            self.events[webhook_id] = await request.json()
        return web.Response(status=200, text="ok")


@asynccontextmanager
async def webhook_receiver(**options: Any) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(**options)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield receiver
    finally:
        await runner.cleanup()
