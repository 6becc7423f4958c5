"""Escalation summaries for the team's internal Slack channel, queued through the outbox.

The summary goes out as a Slack outbox row marked ``internal_slack`` (the Slack sender hands it to
the internal channel's sender); written in the caller's transaction, so an escalation and its post
commit together and a retried tick or request queues it once (the idempotency key). Every piece of
customer text is mrkdwn-escaped: a customer typing ``<!channel>`` must not page the whole team.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from formatters.markup import clip, escape_mrkdwn, slack_link, squash
from store import internal_slack, outbox
from store.models import Channel

SNIPPET = 300


async def summary(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, headline: str,
                  base_url: str) -> dict[str, Any]:
    """``{"text", "blocks"}`` describing the conversation, with a deep link into the console."""
    cur = await conn.execute(
        "SELECT c.id, c.subject, c.status, c.urgency, c.category, c.last_channel, a.name AS assignee,"
        " coalesce(cu.display_name, 'customer #' || cu.id) AS customer, coalesce(cu.plan_tier, 'standard') AS tier,"
        " (SELECT m.text FROM messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
        "   AND m.direction = 'in' ORDER BY m.seq DESC LIMIT 1) AS last_in"
        " FROM conversations c JOIN customers cu ON cu.tenant_id = c.tenant_id AND cu.id = c.customer_id"
        " LEFT JOIN agents a ON a.tenant_id = c.tenant_id AND a.id = c.assignee_id"
        " WHERE c.tenant_id = %s AND c.id = %s", (tenant_id, conversation_id))
    row = await cur.fetchone()
    assert row is not None
    link = f"{base_url.rstrip('/')}/console#/c/{conversation_id}"
    title = escape_mrkdwn(clip(squash(row["subject"] or f"Conversation #{conversation_id}"), 150))
    facts = (f"*Customer:* {escape_mrkdwn(clip(squash(row['customer']), 100))} ({escape_mrkdwn(row['tier'])})"
             f" · *Status:* {row['status']} · *Urgency:* {escape_mrkdwn(row['urgency'] or 'unknown')}"
             f" · *Category:* {escape_mrkdwn(row['category'] or 'unknown')}"
             f" · *Assignee:* {escape_mrkdwn(row['assignee'] or 'nobody')} · *Channel:* {row['last_channel']}")
    said = escape_mrkdwn(clip(squash(row["last_in"] or ""), SNIPPET))
    head = escape_mrkdwn(clip(squash(headline), 300))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n#{conversation_id} {title}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": facts}},
    ]
    if said:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"> {said}"}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                   f"{slack_link(link, 'Open in the console')} · replies in this thread become internal notes"}]})
    return {"text": f"{head}: #{conversation_id} {title} {link}", "blocks": blocks}


async def post_escalation(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *, headline: str,
                          base_url: str, dedupe: str) -> int | None:
    """Queues the summary; None when the tenant has no internal channel (or this dedupe key already queued)."""
    if await internal_slack.get(conn, tenant_id) is None:
        return None
    body = await summary(conn, tenant_id, conversation_id, headline=headline, base_url=base_url)
    payload = {"internal_slack": True, "conversation_id": conversation_id, "kind": "internal",
               "author_kind": "system", "body": body}
    return await outbox.enqueue(conn, tenant_id, channel=Channel.SLACK, payload=payload,
                                conversation_id=conversation_id, idempotency_key=f"internal-slack:{dedupe}")
