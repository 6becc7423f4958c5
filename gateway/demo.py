"""Demo data: a tenant with agents, skills, SLA policies and a small knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg_pool import AsyncConnectionPool

from copilot.passwords import hash_password
from gateway.tenant_admin import provision
from store import agents, tenants

DEMO_SLUG = "demo"
DEMO_KB = Path(__file__).with_name("demo_kb")
DEMO_PASSWORD = "switchboard-demo"
DEMO_AGENTS = (
    ("admin@demo.test", "Ada Admin", "admin", ("billing", "technical", "account")),
    ("tech@demo.test", "Tomás Tech", "agent", ("technical", "bug_report")),
    ("billing@demo.test", "Bea Billing", "agent", ("billing", "account")),
)


async def seed(pool: AsyncConnectionPool) -> dict[str, Any]:
    """Idempotent: running the demo twice reuses what the first run created."""
    async with pool.connection() as conn, conn.transaction():
        tenant = await tenants.by_slug(conn, DEMO_SLUG)
        if tenant is None:
            tenant = await provision(conn, DEMO_SLUG, "Demo Co")
            for email, name, role, skills in DEMO_AGENTS:
                await agents.create(conn, tenant.id, email=email, name=name, role=role, skills=skills,
                                    password_hash=hash_password(DEMO_PASSWORD), max_load=3)
    # Outside the transaction above: the import embeds articles and commits each one. Unchanged
    # articles are skipped by content hash, so a second demo start does no model work.
    from agent_graph.kb_import import import_directory

    report = await import_directory(pool, tenant.id, DEMO_KB, progress=False)
    return {"tenant_id": tenant.id, "slug": tenant.slug, "kb": report.as_dict()}


def banner(url: str) -> str:
    return "\n".join([
        "",
        "Switchboard demo is running.",
        f"  Health:         {url}/readyz",
        f"  Agent console:  {url}/console   (log in as admin@demo.test / {DEMO_PASSWORD})",
        f"  Chat widget:    {url}/widget/{DEMO_SLUG}",
        f"  Contact form:   {url}/forms/{DEMO_SLUG}",
        f"  Metrics:        {url}/metrics",
        "Stop with Ctrl+C.",
        "",
    ])
