"""Firing an escalation path: the owner is told (console notification and email), the conversation
gets an internal note and moves up the queue, and a summary goes to the internal Slack channel.

All in the caller's transaction, and once per dedupe key: the escalation row is the arbiter, so a
double-clicked button or a retried request fires the path once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from gateway.ops.internal_slack import post_escalation
from gateway.ops.notify import notify_agents
from store import conversations, escalation_paths, sla, teams
from store.escalation_paths import Path
from store.models import AuthorKind, Direction

ESCALATION_PRIORITY = 2


async def owners(conn: AsyncConnection[Any], tenant_id: int, path: Path) -> list[int]:
    """The owning agent, or the owning team's lead and members."""
    if path.owner_agent_id is not None:
        return [path.owner_agent_id]
    assert path.owner_team_id is not None
    return await teams.people(conn, tenant_id, path.owner_team_id)


async def fire(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, path: Path, *, actor: str,
               note: str, now: datetime, base_url: str, dedupe_key: str | None = None) -> dict[str, Any] | None:
    """The escalation row, or None when this dedupe key already fired. Lock the conversation first."""
    conv = await conversations.get(conn, tenant_id, conversation_id, lock=True)
    cur = await conn.execute(
        "SELECT coalesce(cu.display_name, 'customer #' || cu.id) AS customer, coalesce(cu.plan_tier, 'standard') AS tier"
        " FROM customers cu WHERE cu.tenant_id = %s AND cu.id = %s", (tenant_id, conv.customer_id))
    who = await cur.fetchone()
    assert who is not None
    link = f"{base_url.rstrip('/')}/console#/c/{conversation_id}" if base_url else f"#/c/{conversation_id}"
    if dedupe_key is None:  # one escalation per path per episode (status change), however often it is asked
        cur = await conn.execute("SELECT coalesce(max(id), 0) AS id FROM status_changes WHERE tenant_id = %s"
                                 " AND conversation_id = %s", (tenant_id, conversation_id))
        episode = await cur.fetchone()
        dedupe_key = f"{conversation_id}:{path.id}:{episode['id'] if episode else 0}"
    message = escalation_paths.render(path.template, {
        "conversation_id": conversation_id, "customer": who["customer"], "subject": conv.subject or "",
        "category": conv.category or "", "urgency": conv.urgency or "", "tier": who["tier"], "path": path.name,
        "respond_by": f"{now + timedelta(minutes=path.response_minutes):%Y-%m-%d %H:%M} UTC", "link": link, "note": note})
    row = await escalation_paths.record(conn, tenant_id, conversation_id, path, actor=actor, message=message,
                                        now=now, dedupe_key=dedupe_key)
    if row is None:
        return None
    await sla.bump_queue(conn, tenant_id, conversation_id, ESCALATION_PRIORITY, escalate_at=now)
    await conversations.append_message(
        conn, tenant_id, conversation_id, direction=Direction.INTERNAL, author_kind=AuthorKind.SYSTEM,
        channel=conv.last_channel, text=f"Escalated to {path.name} ({path.kind}) by {actor}; respond within"
                                        f" {path.response_minutes} min.\n\n{message}",
        raw={"ops": "escalation", "path": path.kind, "escalation_id": row["id"]})
    await notify_agents(conn, tenant_id, await owners(conn, tenant_id, path), kind="escalation",
                        title=f"Escalation ({path.name}): #{conversation_id}", body=message,
                        dedupe_key=f"escalation:{row['id']}", now=now, conversation_id=conversation_id,
                        base_url=base_url)
    await post_escalation(conn, tenant_id, conversation_id, headline=f"Escalated to {path.name}: {message}",
                          base_url=base_url, dedupe=f"escalation:{row['id']}")
    return row
