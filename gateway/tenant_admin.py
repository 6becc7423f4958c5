"""Tenant lifecycle shared by the CLI and REST v1: onboarding, JSON export, deletion, customer erasure.

A new tenant gets what the demo tenant gets (``provision``): the default categories, the built-in
safety rules switched on, and the default SLA policies; plus its first admin, who has no usable
password until they open the one-time link and choose one.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from psycopg_pool import AsyncConnectionPool

from agent_graph.graph import thread_id
from copilot import set_password
from copilot.passwords import hash_password
from gateway.email_verification import PURPOSE as VERIFY_EMAIL_PURPOSE
from store import agents, audit, one_time_tokens, sla, tenant_data, tenants
from store.tenant_data import Erased
from store.tenants import DEFAULT_CATEGORIES, Tenant

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")  # the tenants.slug CHECK constraint
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LINK_TTL_SECONDS = 72 * 3600
EXPORT_FORMAT = "switchboard.tenant-export.v1"


class OnboardingError(ValueError):
    """Bad or conflicting input; ``conflict`` means it is well-formed but taken (HTTP 409)."""

    def __init__(self, field: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.field, self.conflict = field, conflict


@dataclass(frozen=True, slots=True)
class Onboarded:
    tenant: Tenant
    admin_agent_id: int
    admin_email: str
    password_link: str
    link_expires_at: datetime


async def provision(conn: AsyncConnection[Any], slug: str, name: str) -> Tenant:
    """A tenant with the defaults every new tenant starts from (the demo's seed uses this too)."""
    tenant = await tenants.create(conn, slug, name, {"categories": list(DEFAULT_CATEGORIES), "safety_defaults": True})
    await sla.seed_defaults(conn, tenant.id)
    return tenant


async def onboard(pool: AsyncConnectionPool, *, slug: str, name: str, admin_email: str, admin_name: str | None,
                  base_url: str, actor: str) -> Onboarded:
    slug, admin_email = slug.strip().lower(), admin_email.strip().lower()
    if not SLUG.match(slug):
        raise OnboardingError("slug", "2–63 characters: lower-case letters, digits and '-', starting with a letter"
                                      " or digit")
    if not name.strip() or len(name) > 200:
        raise OnboardingError("name", "1–200 characters")
    if len(admin_email) > 320 or not EMAIL.match(admin_email):
        raise OnboardingError("admin_email", "not an email address")
    # Unusable until the link is used: a random password nobody knows, hashed like any other (a
    # sentinel would make sign-in attempts on this account measurably faster).
    placeholder = hash_password(secrets.token_urlsafe(32))
    try:
        return await _onboard(pool, slug=slug, name=name.strip(), admin_email=admin_email, admin_name=admin_name,
                              placeholder=placeholder, base_url=base_url, actor=actor)
    except UniqueViolation as exc:  # a concurrent onboarding took the slug or the address first
        taken = "admin_email" if "email" in (exc.diag.constraint_name or "") else "slug"
        raise OnboardingError(taken, f"{taken} is taken", conflict=True) from None


async def _onboard(pool: AsyncConnectionPool, *, slug: str, name: str, admin_email: str, admin_name: str | None,
                   placeholder: str, base_url: str, actor: str) -> Onboarded:
    async with pool.connection() as conn, conn.transaction():
        if await tenants.by_slug(conn, slug) is not None:
            raise OnboardingError("slug", f"a tenant {slug!r} exists already", conflict=True)
        if await agents.login_record(conn, admin_email) is not None:
            raise OnboardingError("admin_email", "this address already signs in to a tenant", conflict=True)
        tenant = await provision(conn, slug, name)
        agent = await agents.create(conn, tenant.id, email=admin_email, name=(admin_name or admin_email).strip()[:200],
                                    password_hash=placeholder, role="admin")
        token = await one_time_tokens.issue(conn, tenant.id, purpose=set_password.PURPOSE, subject_id=agent.id,
                                            data={"email": admin_email}, ttl_seconds=LINK_TTL_SECONDS)
        await audit.record(conn, tenant.id, actor=actor, action="tenant.created", subject_type="tenant",
                           subject_id=tenant.id, details={"slug": slug, "admin_agent_id": agent.id})
        cur = await conn.execute("SELECT expires_at FROM one_time_tokens WHERE token_hash = %s",
                                 (one_time_tokens.token_hash(token),))
        row = await cur.fetchone()
    assert row is not None
    return Onboarded(tenant, agent.id, admin_email, set_password.link(base_url, token), row["expires_at"])


async def export_chunks(pool: AsyncConnectionPool, tenant: Tenant) -> AsyncIterator[bytes]:
    """The tenant as one JSON document, produced piecewise from one snapshot (a repeatable-read
    transaction), so a large tenant streams and rows written meanwhile never half-appear."""
    head = {"format": EXPORT_FORMAT, "exported_at": datetime.now(UTC).isoformat(),
            "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "settings": tenant.settings}}
    yield json.dumps(head)[:-1].encode() + b', "tables": {'
    async with pool.connection() as conn:
        async with conn.transaction():
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            columns = await tenant_data.export_columns(conn)
            for t, (table, cols) in enumerate(columns.items()):
                yield (", " if t else "").encode() + json.dumps(table).encode() + b": ["
                n = 0
                async for row in tenant_data.export_rows(conn, tenant.id, table, cols):
                    yield (b", " if n else b"") + json.dumps(row, default=_jsonable).encode()
                    n += 1
                yield b"]"
    yield b"}}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


async def delete(pool: AsyncConnectionPool, tenant: Tenant) -> dict[str, int]:
    async with pool.connection() as conn, conn.transaction():
        # Graph checkpoints are keyed "{tenant_id}:{conversation_id}" (agent_graph.graph.thread_id).
        return await tenant_data.delete_tenant(conn, tenant.id, thread_prefix=thread_id(tenant.id, 0)[:-1])


async def erase_customer(pool: AsyncConnectionPool, tenant_id: int, customer_id: int, *, actor: str) -> Erased:
    """Raises LookupError when the tenant has no such customer."""
    async with pool.connection() as conn, conn.transaction():
        return await tenant_data.erase_customer(conn, tenant_id, customer_id, actor=actor, thread_id=thread_id,
                                                token_purposes=(VERIFY_EMAIL_PURPOSE,))
