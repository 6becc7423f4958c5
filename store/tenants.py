"""Tenants and their settings (thresholds, categories, reopen window: per tenant, not constants)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

DEFAULT_CATEGORIES = ("billing", "technical", "account", "product_question", "feature_request", "bug_report")
DEFAULT_SETTINGS: dict[str, Any] = {
    "categories": list(DEFAULT_CATEGORIES),
    "reopen_window_hours": 72,
    "thresholds": {"auto_resolve": 0.80, "suggest": 0.45, "retrieval_min": 0.35},
    "safety_rules": [],
    "slack_verified_workspaces": [],
    "email_enabled": False,
    "costs": {"agent_hour": 30.0, "ai_run": 0.002},  # cost per resolution inputs (store.agent_performance)
}


@dataclass(frozen=True, slots=True)
class Tenant:
    id: int
    slug: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    def setting(self, key: str) -> Any:
        return self.settings.get(key, DEFAULT_SETTINGS.get(key))


def _tenant(row: dict[str, Any]) -> Tenant:
    return Tenant(row["id"], row["slug"], row["name"], {**DEFAULT_SETTINGS, **row["settings"]})


async def create(conn: AsyncConnection[Any], slug: str, name: str, settings: dict[str, Any] | None = None) -> Tenant:
    cur = await conn.execute(
        "INSERT INTO tenants (slug, name, settings) VALUES (%s, %s, %s) RETURNING *",
        (slug, name, json.dumps(settings or {})),
    )
    row = await cur.fetchone()
    assert row is not None
    return _tenant(row)


async def get(conn: AsyncConnection[Any], tenant_id: int) -> Tenant | None:
    cur = await conn.execute("SELECT * FROM tenants WHERE id = %s", (tenant_id,))
    row = await cur.fetchone()
    return _tenant(row) if row else None


async def by_slug(conn: AsyncConnection[Any], slug: str) -> Tenant | None:
    cur = await conn.execute("SELECT * FROM tenants WHERE slug = %s", (slug,))
    row = await cur.fetchone()
    return _tenant(row) if row else None


async def update_settings(conn: AsyncConnection[Any], tenant_id: int, changes: dict[str, Any]) -> Tenant:
    cur = await conn.execute(
        "UPDATE tenants SET settings = settings || %s::jsonb WHERE id = %s RETURNING *", (json.dumps(changes), tenant_id)
    )
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"tenant {tenant_id} not found")
    return _tenant(row)
