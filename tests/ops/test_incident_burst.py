"""A burst of alike reports examined concurrently forms exactly one incident.

Forming is the only step under the tenant lock; the search before it runs unlocked, so this checks
the race the lock guards: eight workers examining eight reports at once must not form two incidents,
must leave every conversation in the one incident, and must not tell any customer twice.
"""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from gateway.ops.incidents import IncidentDetector
from store.tenants import Tenant
from tests import factories as f
from tests.ops.test_incidents import REPORTS as FIRST_REPORTS

REPORTS = [
    *FIRST_REPORTS,
    "Paying for my order at checkout gives me error 502",
    "Checkout page error 502, payment for my order won't go through",
    "I see a 502 error at the checkout when paying for the order",
]


async def test_concurrent_burst_forms_one_incident(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    stored = [await ingest(pool, f.email(tenant.id, f"burst{i}@example.com", text))
              for i, text in enumerate(REPORTS)]
    detector = IncidentDetector(pool, "http://localhost")
    found = await asyncio.gather(*(detector.on_message(tenant.id, s.conversation_id, s.message_id) for s in stored))

    async with pool.connection() as conn:
        incidents = await (await conn.execute("SELECT id FROM incidents WHERE tenant_id = %s", (tenant.id,))).fetchall()
        members = await (await conn.execute(
            "SELECT conversation_id FROM incident_members WHERE tenant_id = %s", (tenant.id,))).fetchall()
        notices = await (await conn.execute(
            "SELECT conversation_id, count(*) AS n FROM messages WHERE tenant_id = %s AND author_kind = 'system'"
            " AND reply_kind = 'notice' GROUP BY conversation_id", (tenant.id,))).fetchall()
    assert len(incidents) == 1, found
    # Every report but those examined before the third alike one arrived ends in the incident.
    assert len(members) >= len(REPORTS) - 2
    assert {m["conversation_id"] for m in members} <= {s.conversation_id for s in stored}
    assert all(n["n"] == 1 for n in notices)
    assert {d.incident_id for d in found if d.incident_id is not None} == {incidents[0]["id"]}
