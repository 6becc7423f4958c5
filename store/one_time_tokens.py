"""One-time tokens (email verification links, password set links): only a hash is stored.

A token is consumed by one conditional UPDATE, so two clicks racing each other cannot both use it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection


@dataclass(frozen=True, slots=True)
class UsedToken:
    tenant_id: int
    purpose: str
    subject_id: int
    data: dict[str, Any]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(conn: AsyncConnection[Any], tenant_id: int, *, purpose: str, subject_id: int,
                data: dict[str, Any], ttl_seconds: float) -> str:
    """Returns the token itself; it exists nowhere else once the caller has sent it."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO one_time_tokens (token_hash, tenant_id, purpose, subject_id, data, expires_at)"
        " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
        (token_hash(token), tenant_id, purpose, subject_id, json.dumps(data), ttl_seconds),
    )
    return token


async def peek(conn: AsyncConnection[Any], token: str, *, purpose: str) -> UsedToken | None:
    """The token's details if it is still usable, without using it (for a confirmation page)."""
    cur = await conn.execute(
        "SELECT tenant_id, purpose, subject_id, data FROM one_time_tokens"
        " WHERE token_hash = %s AND purpose = %s AND used_at IS NULL AND expires_at > now()",
        (token_hash(token), purpose),
    )
    row = await cur.fetchone()
    return UsedToken(row["tenant_id"], row["purpose"], row["subject_id"], dict(row["data"])) if row else None


async def use(conn: AsyncConnection[Any], token: str, *, purpose: str) -> UsedToken | None:
    """Consumes the token; None if unknown, expired or already used.

    Looked up by its hash alone: the tenant is what the token row says, since the link carries nothing else.
    """
    cur = await conn.execute(
        "UPDATE one_time_tokens SET used_at = now()"
        " WHERE token_hash = %s AND purpose = %s AND used_at IS NULL AND expires_at > now()"
        " RETURNING tenant_id, purpose, subject_id, data",
        (token_hash(token), purpose),
    )
    row = await cur.fetchone()
    return UsedToken(row["tenant_id"], row["purpose"], row["subject_id"], dict(row["data"])) if row else None


async def recent_count(conn: AsyncConnection[Any], tenant_id: int, *, purpose: str, within_seconds: float,
                       subject_id: int | None = None, email: str | None = None) -> int:
    """How many tokens were issued lately for one subject or one address (abuse limits)."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM one_time_tokens WHERE tenant_id = %s AND purpose = %s"
        " AND created_at > now() - make_interval(secs => %s)"
        " AND (%s::bigint IS NULL OR subject_id = %s) AND (%s::text IS NULL OR data->>'email' = %s)",
        (tenant_id, purpose, within_seconds, subject_id, subject_id, email, email),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0
