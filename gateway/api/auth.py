"""Bearer-token authentication, scope checks and per-token rate limits for REST v1.

Rate limits are an in-process token bucket per API token: each process that serves the API keeps
its own buckets, so N processes admit up to N times a token's limit. That is the documented
trade-off for needing no shared store on the hot path; a Redis bucket can replace ``RateLimiter``
behind the same two methods.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from gateway.http_errors import FieldError
from store import api_tokens
from store.api_tokens import ApiToken


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per API token: bursts up to the per-minute limit, refills at limit/60 per second."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_tokens: int = 100_000) -> None:
        self._clock = clock
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()
        self._max = max_tokens

    def take(self, token_id: int, per_minute: int) -> float:
        """0.0 if the request may go ahead, else the seconds until one would be allowed."""
        now = self._clock()
        capacity = float(per_minute)
        rate = per_minute / 60.0
        bucket = self._buckets.pop(token_id, None) or _Bucket(capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        self._buckets[token_id] = bucket  # most recently used last; the oldest is evicted first
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate


class ApiError(Exception):
    """An error that needs response headers too (WWW-Authenticate, Retry-After); same JSON shape."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.field, self.headers = status, code, field, headers or {}


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, "Authorization", {"WWW-Authenticate": 'Bearer realm="switchboard"'})


class Authenticator:
    def __init__(self, pool: AsyncConnectionPool, limiter: RateLimiter | None = None) -> None:
        self.pool = pool
        self.limiter = limiter or RateLimiter()

    async def check(self, request: web.Request, scope: str) -> ApiToken:
        """The request's token, or an error: 401 (missing, unknown, revoked), 429, then 403 (scope)."""
        header = request.headers.get("Authorization", "")
        kind, _, secret = header.partition(" ")
        if kind.lower() != "bearer" or not secret.strip():
            raise unauthorized("send Authorization: Bearer <token>")
        async with self.pool.connection() as conn:
            token = await api_tokens.authenticate(conn, secret.strip())
        if token is None:
            raise unauthorized("unknown or revoked token")
        wait = self.limiter.take(token.id, token.rate_limit_per_minute)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            raise ApiError(429, "rate_limited", f"rate limit of {token.rate_limit_per_minute}/min exceeded;"
                           f" retry after {retry_after}s", headers={"Retry-After": retry_after})
        if not token.allows(scope):
            raise FieldError("Authorization", f"this token lacks the {scope!r} scope", status=403, code="forbidden")
        return token

