"""Everything a tenant owns, found by reading the schema: export, deletion, erasure of one customer.

Tables are discovered from ``information_schema`` (every table with a ``tenant_id`` column), so a
table added by a later migration is exported and deleted without touching this module. Erasure of a
customer cannot be that generic (what links a row to a person differs per table); its test checks
every table, so a new table holding personal data fails it until it is handled here.

LangGraph's checkpoint tables carry no ``tenant_id``: their rows are found by thread id, which the
caller computes (the store does not know the graph's thread naming).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql

from store import audit, customers
from store.models import IdentityKind

CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")
# Credentials and derived data stay out of an export: hashes and signing secrets must not leave the
# system, embeddings and full-text vectors are recomputed from the exported text.
EXPORT_SKIP_TABLES = frozenset({"one_time_tokens"})
EXPORT_SKIP_TYPES = frozenset({"vector", "tsvector", "bytea"})
EXPORT_SKIP_COLUMN = re.compile(r"password|secret|token_hash")
ERASED = {"erased": True}


async def tenant_tables(conn: AsyncConnection[Any]) -> list[str]:
    """Tables of the current schema that have a ``tenant_id`` column (``tenants`` itself excluded)."""
    cur = await conn.execute(
        "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
        " USING (table_schema, table_name) WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'"
        " AND t.table_type = 'BASE TABLE' AND c.table_name <> 'tenants' ORDER BY c.table_name")
    return [r["table_name"] for r in await cur.fetchall()]


async def _existing_checkpoint_tables(conn: AsyncConnection[Any]) -> list[str]:
    """The checkpointer creates its tables on first use, so a database may not have them yet."""
    cur = await conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                             " AND table_name = ANY(%s)", (list(CHECKPOINT_TABLES),))
    found = {r["table_name"] for r in await cur.fetchall()}
    return [t for t in CHECKPOINT_TABLES if t in found]


# -- export ---------------------------------------------------------------------------------------
async def export_columns(conn: AsyncConnection[Any]) -> dict[str, list[str]]:
    """Table → columns an export carries, for every tenant table (credentials and vectors left out)."""
    cur = await conn.execute(
        "SELECT table_name, column_name, udt_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY(%s) ORDER BY table_name, ordinal_position",
        ([t for t in await tenant_tables(conn) if t not in EXPORT_SKIP_TABLES],))
    out: dict[str, list[str]] = {}
    for r in await cur.fetchall():
        cols = out.setdefault(r["table_name"], [])
        if r["udt_name"] not in EXPORT_SKIP_TYPES and not EXPORT_SKIP_COLUMN.search(r["column_name"]):
            cols.append(r["column_name"])
    return out


async def export_rows(conn: AsyncConnection[Any], tenant_id: int, table: str, columns: Sequence[str]
                      ) -> AsyncIterator[dict[str, Any]]:
    """One table's rows of the tenant, streamed (a large tenant is never held in memory)."""
    query = sql.SQL("SELECT {cols} FROM {table} WHERE tenant_id = %s").format(
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)), table=sql.Identifier(table))
    async with conn.cursor() as cur:
        async for row in cur.stream(query, (tenant_id,)):
            yield row


# -- deletion -------------------------------------------------------------------------------------
async def delete_tenant(conn: AsyncConnection[Any], tenant_id: int, *, thread_prefix: str) -> dict[str, int]:
    """Deletes the tenant and every row it owns; returns rows per table. Run in a transaction.

    Deleting the ``tenants`` row cascades in one statement (so foreign keys between the tenant's own
    tables, such as conversations → agents, never see a half-deleted tenant); a sweep after it
    empties any tenant table whose rows do not hang off ``tenants`` by a cascading key.
    """
    counts: dict[str, int] = {}
    for table in await _existing_checkpoint_tables(conn):
        cur = await conn.execute(sql.SQL("DELETE FROM {} WHERE thread_id LIKE %s").format(sql.Identifier(table)),
                                 (thread_prefix.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%",))
        counts[table] = cur.rowcount
    tables = await tenant_tables(conn)
    for table in tables:
        cur = await conn.execute(sql.SQL("SELECT count(*) AS n FROM {} WHERE tenant_id = %s").format(
            sql.Identifier(table)), (tenant_id,))
        row = await cur.fetchone()
        counts[table] = int(row["n"]) if row else 0
    cur = await conn.execute("DELETE FROM tenants WHERE id = %s", (tenant_id,))
    counts["tenants"] = cur.rowcount
    for table in tables:
        await conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s").format(sql.Identifier(table)), (tenant_id,))
    return {t: n for t, n in counts.items() if n}


# -- erasure of one customer ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Erased:
    customer_ids: list[int]
    conversations: int
    messages: int
    identities: int


async def _ids(conn: AsyncConnection[Any], query: str, params: tuple[Any, ...]) -> list[int]:
    cur = await conn.execute(query, params)
    return [int(r["id"]) for r in await cur.fetchall()]


async def _link_columns(conn: AsyncConnection[Any]) -> list[tuple[str, str, str]]:
    """(table, column, what) for every tenant-table column that points at a customer, conversation or
    message by name (``customer_id``, ``source_customer_id``, ``conversation_id``, ``reply_message_id``…)."""
    cur = await conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t"
        " USING (table_schema, table_name) WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " AND c.column_name ~ '(^|_)(customer|conversation|message)_id$' AND EXISTS (SELECT 1 FROM"
        " information_schema.columns k WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name"
        " AND k.column_name = 'tenant_id') ORDER BY c.table_name, c.column_name")
    return [(r["table_name"], r["column_name"], r["column_name"].rsplit("_", 2)[-2]) for r in await cur.fetchall()]


async def erase_customer(conn: AsyncConnection[Any], tenant_id: int, customer_id: int, *, actor: str,
                         thread_id: Callable[[int, int], str], token_purposes: Sequence[str]) -> Erased:
    """GDPR erasure of one person: the customer, everyone merged into it, and all they left behind.

    Every row of a tenant table whose ``…customer_id``, ``…conversation_id`` or ``…message_id``
    column points at them goes (identities, conversations, messages, suggestions, resolved-conversation
    embeddings, incident reports, merge records, … — new tables with such columns included). Rows that
    point at them some other way are handled one by one: graph checkpoints, outbox rows and jobs
    named in their JSON (mail to their address, webhook events), raw Slack events, one-time tokens,
    incident titles quoting them. Audit rows
    stay (who did what, when) with their details replaced by ``{"erased": true}``.
    ``token_purposes`` are the one-time token purposes whose subject is a customer.
    Run in a transaction. Raises LookupError for an unknown customer.
    """
    group = await customers.group(conn, tenant_id, customer_id)
    idents = await customers.identities(conn, tenant_id, group)
    emails = [i.value for i in idents if i.kind is IdentityKind.EMAIL]
    slack_users = [i.value for i in idents if i.kind is IdentityKind.SLACK_USER]
    conv_ids = await _ids(conn, "SELECT id FROM conversations WHERE tenant_id = %s AND customer_id = ANY(%s)",
                          (tenant_id, group))
    msg_ids = await _ids(conn, "SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = ANY(%s)",
                         (tenant_id, conv_ids))
    threads = [thread_id(tenant_id, c) for c in conv_ids]
    for table in await _existing_checkpoint_tables(conn):
        await conn.execute(sql.SQL("DELETE FROM {} WHERE thread_id = ANY(%s)").format(sql.Identifier(table)),
                           (threads,))
    conv_text = [str(c) for c in conv_ids]
    # Mail to their addresses (verification links) and webhook events about their conversations.
    await conn.execute("DELETE FROM outbox WHERE tenant_id = %s AND (lower(payload->>'to') = ANY(%s)"
                       " OR payload->'event'->'data'->>'conversation_id' = ANY(%s))", (tenant_id, emails, conv_text))
    await conn.execute("DELETE FROM jobs WHERE tenant_id = %s AND payload->>'conversation_id' = ANY(%s)",
                       (tenant_id, conv_text))
    await conn.execute("DELETE FROM slack_events WHERE tenant_id = %s AND team_id || ':' || (payload->'event'->>'user')"
                       " = ANY(%s)", (tenant_id, slack_users))
    await conn.execute(
        "DELETE FROM one_time_tokens WHERE tenant_id = %s AND ((purpose = ANY(%s) AND subject_id = ANY(%s))"
        " OR lower(data->>'email') = ANY(%s))", (tenant_id, list(token_purposes), group, emails))
    await conn.execute(
        "UPDATE audit_events SET details = %s WHERE tenant_id = %s AND ("
        " (subject_type = 'customer' AND (subject_id = ANY(%s) OR details->>'source' = ANY(%s)))"
        " OR (subject_type = 'conversation' AND subject_id = ANY(%s))"
        " OR (subject_type = 'message' AND subject_id = ANY(%s)))",
        (json.dumps(ERASED), tenant_id, group, [str(g) for g in group], conv_ids, msg_ids))
    await _retitle_incidents(conn, tenant_id, group)
    # Chat uploads never sent with a message are theirs only by uploader (channels/chat_files.py).
    await conn.execute("DELETE FROM attachments WHERE tenant_id = %s AND uploader = ANY(%s)",
                       (tenant_id, [f"chat:{i.value}" for i in idents if i.kind is IdentityKind.CHAT_VISITOR]))
    ids = {"customer": group, "conversation": conv_ids, "message": msg_ids}
    for table, column, what in await _link_columns(conn):
        await conn.execute(sql.SQL("DELETE FROM {} WHERE tenant_id = %s AND {} = ANY(%s)").format(
            sql.Identifier(table), sql.Identifier(column)), (tenant_id, ids[what]))
    await conn.execute("DELETE FROM customers WHERE tenant_id = %s AND id = ANY(%s)", (tenant_id, group))
    await audit.record(conn, tenant_id, actor=actor, action="customer.erased", subject_type="customer",
                       subject_id=group[0], details={"customers": len(group), "conversations": len(conv_ids),
                                                     "messages": len(msg_ids), "identities": len(idents)})
    return Erased(group, len(conv_ids), len(msg_ids), len(idents))


async def _retitle_incidents(conn: AsyncConnection[Any], tenant_id: int, group: list[int]) -> None:
    """An incident is titled with its most typical report's text, which may be this customer's words:
    such a title becomes another reporter's wording (or a neutral one)."""
    cur = await conn.execute("SELECT to_regclass('incident_reports') IS NOT NULL AS present")
    row = await cur.fetchone()
    if not (row and row["present"]):
        return
    await conn.execute(
        "UPDATE incidents i SET title = coalesce((SELECT left(regexp_replace(btrim(r.text), '\\s+', ' ', 'g'), 300)"
        "   FROM incident_reports r WHERE r.tenant_id = i.tenant_id AND r.incident_id = i.id"
        "   AND r.customer_id <> ALL(%s) ORDER BY r.id LIMIT 1), 'Incident ' || i.id)"
        " WHERE i.tenant_id = %s AND i.title IN (SELECT left(regexp_replace(btrim(r.text), '\\s+', ' ', 'g'), 300)"
        "   FROM incident_reports r WHERE r.tenant_id = %s AND r.customer_id = ANY(%s))",
        (group, tenant_id, tenant_id, group))
