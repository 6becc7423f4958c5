"""Slack workspaces per tenant, and the ledger of Events API deliveries we accepted.

``by_team`` is the routing entry point: an inbound request names its workspace (``team_id``) before
anyone knows the tenant, so it is the one lookup without a tenant id. Everything after it carries
the tenant. Secrets are not stored here, only the names of the environment variables holding them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

DEFAULT_API_BASE_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class Workspace:
    id: int
    tenant_id: int
    team_id: str
    name: str
    bot_token_env: str
    signing_secret_env: str
    bot_user_id: str
    verifies_emails: bool
    api_base_url: str


@dataclass(frozen=True, slots=True)
class PendingEvent:
    tenant_id: int
    team_id: str
    event_id: str
    payload: dict[str, Any]
    attempts: int


def _workspace(row: dict[str, Any]) -> Workspace:
    return Workspace(row["id"], row["tenant_id"], row["team_id"], row["name"], row["bot_token_env"],
                     row["signing_secret_env"], row["bot_user_id"], row["verifies_emails"], row["api_base_url"])


async def register(
    conn: AsyncConnection[Any], tenant_id: int, team_id: str, *, bot_token_env: str, signing_secret_env: str,
    bot_user_id: str = "", verifies_emails: bool = False, name: str = "", api_base_url: str = DEFAULT_API_BASE_URL,
) -> Workspace:
    """Adds (or updates) a workspace of this tenant; a team already owned by another tenant is refused."""
    cur = await conn.execute(
        "INSERT INTO slack_workspaces (tenant_id, team_id, name, bot_token_env, signing_secret_env, bot_user_id,"
        " verifies_emails, api_base_url) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (team_id) DO UPDATE SET name = EXCLUDED.name, bot_token_env = EXCLUDED.bot_token_env,"
        " signing_secret_env = EXCLUDED.signing_secret_env, bot_user_id = EXCLUDED.bot_user_id,"
        " verifies_emails = EXCLUDED.verifies_emails, api_base_url = EXCLUDED.api_base_url"
        " WHERE slack_workspaces.tenant_id = EXCLUDED.tenant_id RETURNING *",
        (tenant_id, team_id, name, bot_token_env, signing_secret_env, bot_user_id, verifies_emails, api_base_url),
    )
    row = await cur.fetchone()
    if row is None:
        raise ValueError(f"Slack team {team_id} is registered to another tenant")
    return _workspace(row)


async def by_team(conn: AsyncConnection[Any], team_id: str) -> Workspace | None:
    """The routing entry point: which tenant a request from ``team_id`` belongs to."""
    cur = await conn.execute("SELECT * FROM slack_workspaces WHERE team_id = %s", (team_id,))
    row = await cur.fetchone()
    return _workspace(row) if row else None


async def get(conn: AsyncConnection[Any], tenant_id: int, team_id: str) -> Workspace | None:
    cur = await conn.execute("SELECT * FROM slack_workspaces WHERE tenant_id = %s AND team_id = %s",
                             (tenant_id, team_id))
    row = await cur.fetchone()
    return _workspace(row) if row else None


async def for_tenant(conn: AsyncConnection[Any], tenant_id: int) -> list[Workspace]:
    cur = await conn.execute("SELECT * FROM slack_workspaces WHERE tenant_id = %s ORDER BY id", (tenant_id,))
    return [_workspace(r) for r in await cur.fetchall()]


async def set_verifies_emails(conn: AsyncConnection[Any], tenant_id: int, team_id: str, value: bool) -> None:
    await conn.execute("UPDATE slack_workspaces SET verifies_emails = %s WHERE tenant_id = %s AND team_id = %s",
                       (value, tenant_id, team_id))


async def signing_secret_envs(conn: AsyncConnection[Any]) -> list[str]:
    """Every distinct signing-secret variable: ``url_verification`` carries no team to route by."""
    cur = await conn.execute("SELECT DISTINCT signing_secret_env FROM slack_workspaces ORDER BY 1")
    return [r["signing_secret_env"] for r in await cur.fetchall()]


# -- the event ledger ---------------------------------------------------------------------------------
async def accept_event(conn: AsyncConnection[Any], tenant_id: int, team_id: str, event_id: str, event_type: str,
                       payload: dict[str, Any], *, lease_seconds: float) -> bool:
    """Records a delivery; False when this event_id was already accepted (a retry): do nothing."""
    cur = await conn.execute(
        "INSERT INTO slack_events (tenant_id, team_id, event_id, event_type, payload, lease_until)"
        " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))"
        " ON CONFLICT (team_id, event_id) DO NOTHING RETURNING event_id",
        (tenant_id, team_id, event_id, event_type[:100], json.dumps(payload), lease_seconds),
    )
    return await cur.fetchone() is not None


async def finish_event(conn: AsyncConnection[Any], tenant_id: int, team_id: str, event_id: str, *,
                       ignored: bool, outcome: str) -> None:
    """Done: the payload is dropped (its content lives in messages now), the dedupe key stays."""
    await conn.execute(
        "UPDATE slack_events SET status = %s, outcome = %s, payload = NULL, processed_at = now(), last_error = NULL"
        " WHERE tenant_id = %s AND team_id = %s AND event_id = %s",
        ("ignored" if ignored else "done", outcome[:500], tenant_id, team_id, event_id),
    )


async def retry_event(conn: AsyncConnection[Any], tenant_id: int, team_id: str, event_id: str, error: str, *,
                      retry_in: float, max_attempts: int) -> None:
    """A failed attempt: try again after ``retry_in`` seconds, or give up (failed) after ``max_attempts``."""
    await conn.execute(
        "UPDATE slack_events SET attempts = attempts + 1, last_error = %s,"
        " status = CASE WHEN attempts + 1 >= %s THEN 'failed' ELSE status END,"
        " lease_until = now() + make_interval(secs => %s)"
        " WHERE tenant_id = %s AND team_id = %s AND event_id = %s",
        (error[:2000], max_attempts, retry_in, tenant_id, team_id, event_id),
    )


async def event_status(conn: AsyncConnection[Any], tenant_id: int, team_id: str, event_id: str
                       ) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT status, outcome, attempts, last_error FROM slack_events"
        " WHERE tenant_id = %s AND team_id = %s AND event_id = %s", (tenant_id, team_id, event_id))
    return await cur.fetchone()


async def claim_stale_events(conn: AsyncConnection[Any], *, limit: int, lease_seconds: float) -> list[PendingEvent]:
    """Events acked but never finished (the process died after the ack): leased so one process redoes each.

    Across tenants, like the outbox dispatcher: the sweeper serves every tenant.
    """
    cur = await conn.execute(
        "UPDATE slack_events SET lease_until = now() + make_interval(secs => %s)"
        " WHERE (team_id, event_id) IN (SELECT team_id, event_id FROM slack_events"
        "   WHERE status = 'pending' AND lease_until <= now() ORDER BY lease_until LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING tenant_id, team_id, event_id, payload, attempts",
        (lease_seconds, limit),
    )
    return [PendingEvent(r["tenant_id"], r["team_id"], r["event_id"], r["payload"] or {}, r["attempts"])
            for r in await cur.fetchall()]


async def prune_events(conn: AsyncConnection[Any], *, older_than_seconds: float) -> int:
    """Slack retries for minutes, not days: old dedupe keys can go."""
    cur = await conn.execute(
        "DELETE FROM slack_events WHERE created_at < now() - make_interval(secs => %s) AND status <> 'pending'",
        (older_than_seconds,),
    )
    return cur.rowcount


# -- where replies go -----------------------------------------------------------------------------------
async def reply_target(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int,
                       answers_message_id: int | None) -> dict[str, Any] | None:
    """``{team_id, channel, thread_ts}`` of the Slack message answered (else the conversation's latest).

    Read from the inbound message's stored ``raw["slack"]``, so the reply uses the token of the
    workspace the customer wrote from and lands in the thread they wrote in.
    """
    cur = await conn.execute(
        "SELECT raw->'slack' AS slack FROM messages WHERE tenant_id = %s AND conversation_id = %s"
        " AND channel = 'slack' AND direction = 'in' AND raw ? 'slack'"
        " ORDER BY (id = %s) DESC, seq DESC LIMIT 1",
        (tenant_id, conversation_id, answers_message_id if answers_message_id is not None else -1),
    )
    row = await cur.fetchone()
    return dict(row["slack"]) if row and row["slack"] else None
