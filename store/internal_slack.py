"""Each tenant's internal Slack channel (the team's, apart from customer Slack) and the summaries posted there.

Secrets are not stored, as for customer workspaces: ``bot_token_env`` and ``signing_secret_env`` name
the environment variables that hold them. ``by_team_channel`` is the routing entry point for the
internal app's events: a request names its team and channel before anyone knows the tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

DEFAULT_API_BASE_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class InternalSlack:
    tenant_id: int
    team_id: str
    channel_id: str
    bot_token_env: str
    signing_secret_env: str
    api_base_url: str

    def as_json(self) -> dict[str, Any]:
        return {"team_id": self.team_id, "channel_id": self.channel_id, "bot_token_env": self.bot_token_env,
                "signing_secret_env": self.signing_secret_env, "api_base_url": self.api_base_url}


def _config(row: dict[str, Any]) -> InternalSlack:
    return InternalSlack(row["tenant_id"], row["team_id"], row["channel_id"], row["bot_token_env"],
                         row["signing_secret_env"], row["api_base_url"])


async def get(conn: AsyncConnection[Any], tenant_id: int) -> InternalSlack | None:
    cur = await conn.execute("SELECT * FROM internal_slack WHERE tenant_id = %s", (tenant_id,))
    row = await cur.fetchone()
    return _config(row) if row else None


def env_names(tenant_slug: str) -> tuple[str, str]:
    """The variables holding a tenant's internal bot token and signing secret, named by the tenant's slug.

    Derived, never chosen by a tenant admin: a chosen name could point at another tenant's (or the
    platform's) secret and have it sent to Slack on this tenant's behalf.
    """
    stem = f"INTERNAL_SLACK_{tenant_slug.upper().replace('-', '_')}"
    return f"{stem}_BOT_TOKEN", f"{stem}_SIGNING_SECRET"


async def put(conn: AsyncConnection[Any], tenant_id: int, *, team_id: str, channel_id: str, bot_token_env: str,
              signing_secret_env: str, api_base_url: str | None = None) -> InternalSlack:
    """Raises UniqueViolation when another tenant already uses this team's channel.

    ``api_base_url`` is the operator's (GovSlack, a test stand-in): None keeps the stored one.
    """
    cur = await conn.execute(
        "INSERT INTO internal_slack (tenant_id, team_id, channel_id, bot_token_env, signing_secret_env, api_base_url)"
        " VALUES (%s, %s, %s, %s, %s, coalesce(%s, %s)) ON CONFLICT (tenant_id) DO UPDATE SET"
        " team_id = excluded.team_id, channel_id = excluded.channel_id, bot_token_env = excluded.bot_token_env,"
        " signing_secret_env = excluded.signing_secret_env,"
        " api_base_url = coalesce(%s, internal_slack.api_base_url), updated_at = now()"
        " RETURNING *", (tenant_id, team_id, channel_id, bot_token_env, signing_secret_env, api_base_url,
                         DEFAULT_API_BASE_URL, api_base_url))
    row = await cur.fetchone()
    assert row is not None
    return _config(row)


async def delete(conn: AsyncConnection[Any], tenant_id: int) -> bool:
    cur = await conn.execute("DELETE FROM internal_slack WHERE tenant_id = %s", (tenant_id,))
    return cur.rowcount == 1


async def by_team_channel(conn: AsyncConnection[Any], team_id: str, channel_id: str) -> InternalSlack | None:
    cur = await conn.execute("SELECT * FROM internal_slack WHERE team_id = %s AND channel_id = %s",
                             (team_id, channel_id))
    row = await cur.fetchone()
    return _config(row) if row else None


async def signing_secret_envs(conn: AsyncConnection[Any], team_id: str | None = None) -> list[str]:
    """The team's signing-secret variables (every team's for ``url_verification``, which names none)."""
    cur = await conn.execute("SELECT DISTINCT signing_secret_env FROM internal_slack WHERE %s::text IS NULL"
                             " OR team_id = %s ORDER BY 1", (team_id, team_id))
    return [r["signing_secret_env"] for r in await cur.fetchall()]


async def record_post(conn: AsyncConnection[Any], tenant_id: int, channel_id: str, ts: str,
                      conversation_id: int) -> None:
    await conn.execute(
        "INSERT INTO internal_slack_posts (tenant_id, channel_id, ts, conversation_id) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING", (tenant_id, channel_id, ts, conversation_id))


async def thread_of(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, channel_id: str) -> str | None:
    """The ts of the conversation's first summary in this channel: later escalations reply in its thread."""
    cur = await conn.execute(
        "SELECT ts FROM internal_slack_posts WHERE tenant_id = %s AND conversation_id = %s AND channel_id = %s"
        " ORDER BY created_at, ts LIMIT 1", (tenant_id, conversation_id, channel_id))
    row = await cur.fetchone()
    return row["ts"] if row else None


async def conversation_for_thread(conn: AsyncConnection[Any], tenant_id: int, channel_id: str,
                                  thread_ts: str) -> int | None:
    cur = await conn.execute(
        "SELECT conversation_id FROM internal_slack_posts WHERE tenant_id = %s AND channel_id = %s AND ts = %s",
        (tenant_id, channel_id, thread_ts))
    row = await cur.fetchone()
    return int(row["conversation_id"]) if row else None
