"""Closing conversations that wait on a customer who went quiet.

Idle time counts from when the conversation started waiting (``sla_paused_at``: our last reply).
A chat visitor who left is gone in minutes, an email customer may answer tomorrow, so the limit is a
per-channel tenant setting (``inactivity_close_minutes``; default 30 min for chat only). Closing goes
through the state machine (resolved → closed); ingest reopens it when the customer writes again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from gateway.ops.settings import ops_setting
from store import conversations, tenants
from store.models import AuthorKind, ConversationStatus, Direction

S = ConversationStatus
ACTOR = "ops:inactivity"  # store.csat skips surveys for conversations this actor closed


async def close_idle(pool: AsyncConnectionPool, tenant_id: int, *, now: datetime) -> list[int]:
    """Closes every conversation idle past its channel's limit; returns their ids."""
    async with pool.connection() as conn:
        limits = {str(k): float(v) for k, v in (ops_setting(await tenants.get(conn, tenant_id),
                                                             "inactivity_close_minutes") or {}).items()
                  if v is not None and float(v) > 0}
        if not limits:
            return []
        cur = await conn.execute(
            "SELECT id, last_channel, sla_paused_at FROM conversations WHERE tenant_id = %s"
            " AND status = 'waiting_customer' AND last_channel = ANY(%s) AND sla_paused_at IS NOT NULL"
            " ORDER BY id", (tenant_id, list(limits)))
        idle = [r["id"] for r in await cur.fetchall()
                if now - r["sla_paused_at"] >= timedelta(minutes=limits[r["last_channel"]])]
    closed = []
    for cid in idle:
        async with pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, tenant_id, cid, lock=True)
            if conv.status is not S.WAITING_CUSTOMER:
                continue  # the customer wrote meanwhile
            minutes = limits[conv.last_channel.value]
            reason = f"no reply from the customer for {minutes:g} minutes"
            await conversations.transition(conn, tenant_id, cid, S.RESOLVED, actor=ACTOR, reason=reason)
            await conversations.transition(conn, tenant_id, cid, S.CLOSED, actor=ACTOR, reason=reason)
            await conversations.append_message(
                conn, tenant_id, cid, direction=Direction.INTERNAL, author_kind=AuthorKind.SYSTEM,
                channel=conv.last_channel, text=f"Closed automatically: {reason}. A new message reopens it.",
                raw={"ops": "inactivity_close"})
            closed.append(cid)
    return closed
