"""API tokens: per tenant, scoped, shown once, stored hashed, revocable, last use recorded.

The secret is ``sb_`` + 32 random bytes (256 bits, ``secrets.token_urlsafe``). It is stored as a
plain SHA-256 digest, not a slow password hash: slow hashes exist to make guessing *low-entropy*
human passwords expensive, and nobody can enumerate a 256-bit random value whatever the hash costs.
A deterministic digest also lets the lookup be one indexed equality (no per-token salt to try), so
authentication stays one query per request.

``authenticate`` is the one store function without a ``tenant_id`` argument: the token is what
tells us the tenant. It records ``last_used_at`` in the same statement that checks revocation, so
a revoked token fails on its very next request (there is no cache to expire).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

SCOPES = ("read", "write", "classify", "admin")
TOKEN_PREFIX = "sb_"
DEFAULT_RATE_LIMIT_PER_MINUTE = 600


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    tenant_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    rate_limit_per_minute: int
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        """``admin`` implies every other scope."""
        return scope in self.scopes or "admin" in self.scopes


def _token(row: dict[str, Any]) -> ApiToken:
    return ApiToken(row["id"], row["tenant_id"], row["name"], row["prefix"], tuple(row["scopes"]),
                    row["rate_limit_per_minute"], row["created_by"], row["created_at"], row["last_used_at"],
                    row["revoked_at"])


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return scopes


async def create(conn: AsyncConnection[Any], tenant_id: int, *, name: str, scopes: tuple[str, ...],
                 created_by: str, rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE) -> tuple[ApiToken, str]:
    """Returns the stored token and its secret; the secret is not recoverable afterwards."""
    scopes = parse_scopes(scopes)
    if rate_limit_per_minute < 1:
        raise ValueError("rate_limit_per_minute must be at least 1")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cur = await conn.execute(
        "INSERT INTO api_tokens (tenant_id, name, prefix, token_hash, scopes, rate_limit_per_minute, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
        (tenant_id, name, secret[:10], digest(secret), list(scopes), rate_limit_per_minute, created_by),
    )
    row = await cur.fetchone()
    assert row is not None
    return _token(row), secret


async def authenticate(conn: AsyncConnection[Any], secret: str) -> ApiToken | None:
    """The live token for ``secret`` (recording its use), or None if unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    cur = await conn.execute(
        "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = %s AND revoked_at IS NULL RETURNING *",
        (digest(secret),),
    )
    row = await cur.fetchone()
    return _token(row) if row else None


async def revoke(conn: AsyncConnection[Any], tenant_id: int, token_id: int) -> bool:
    cur = await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = %s AND id = %s AND revoked_at IS NULL",
        (tenant_id, token_id),
    )
    return cur.rowcount > 0


async def list_tokens(conn: AsyncConnection[Any], tenant_id: int) -> list[ApiToken]:
    cur = await conn.execute("SELECT * FROM api_tokens WHERE tenant_id = %s ORDER BY id", (tenant_id,))
    return [_token(r) for r in await cur.fetchall()]


async def get(conn: AsyncConnection[Any], tenant_id: int, token_id: int) -> ApiToken | None:
    cur = await conn.execute("SELECT * FROM api_tokens WHERE tenant_id = %s AND id = %s", (tenant_id, token_id))
    row = await cur.fetchone()
    return _token(row) if row else None
