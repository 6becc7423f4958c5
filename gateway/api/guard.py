"""Wraps an ``Operation`` handler in its credential check: a tenant's scoped API token, or, for the
``platform`` scope, the platform operator's token from the environment.

Creating and deleting tenants is above any one tenant, so no tenant token (not even ``admin``) may
do it; the operator's token (``SWITCHBOARD_PLATFORM_ADMIN_TOKEN``) is the only key, and with it
unset those routes answer 403.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from gateway.api.auth import ApiError, Authenticator, unauthorized
from gateway.api.operations import Operation
from gateway.http_errors import error_response
from store import api_tokens

PLATFORM = "platform"
PLATFORM_RATE_PER_MINUTE = 60
_PLATFORM_BUCKET = -1  # API token ids are positive; the operator gets a bucket of its own


class PlatformAuth:
    def __init__(self, auth: Authenticator, token: str | None) -> None:
        self.auth = auth
        self.token = token

    async def check(self, request: web.Request) -> None:
        kind, _, secret = request.headers.get("Authorization", "").partition(" ")
        secret = secret.strip()
        if kind.lower() != "bearer" or not secret:
            raise unauthorized("send Authorization: Bearer <platform operator token>")
        if self.token is None:
            raise ApiError(403, "forbidden", "tenant administration over HTTP is off: set"
                           " SWITCHBOARD_PLATFORM_ADMIN_TOKEN", "Authorization")
        if not secrets.compare_digest(secret.encode(), self.token.encode()):
            async with self.auth.pool.connection() as conn:
                tenant_token = await api_tokens.authenticate(conn, secret)
            if tenant_token is not None:
                raise ApiError(403, "forbidden", "tenant tokens cannot manage tenants; use the platform operator"
                               " token", "Authorization")
            raise unauthorized("unknown token")
        wait = self.auth.limiter.take(_PLATFORM_BUCKET, PLATFORM_RATE_PER_MINUTE)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            raise ApiError(429, "rate_limited", f"retry after {retry_after}s", headers={"Retry-After": retry_after})


def guarded(op: Operation, platform: PlatformAuth) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            if op.scope == PLATFORM:
                await platform.check(request)
                return await op.handler(request, None)  # type: ignore[arg-type]
            return await op.handler(request, await platform.auth.check(request, op.scope))
        except ApiError as exc:
            return error_response(exc.status, exc.code, str(exc), exc.field, headers=exc.headers)

    handle.__name__ = op.operation_id
    return handle


def routes(ops: list[Operation], platform: PlatformAuth) -> list[web.RouteDef]:
    return [web.route(op.method, op.path, guarded(op, platform)) for op in ops]
