"""Every-table checks for tenant deletion and customer erasure.

They read the live schema, so a table added later is checked too: a table whose rows the deletion
or erasure code does not reach fails these checks until it is handled.
"""

from __future__ import annotations

import re
from typing import Any

from psycopg import AsyncConnection, sql

# Tables with no tenant in them at all (schema bookkeeping).
NOT_TENANT_DATA = {"schema_migrations", "checkpoint_migrations"}
LINK = re.compile(r"(^|_)(customer|conversation|message)_id$")


async def columns(conn: AsyncConnection[Any]) -> dict[str, list[str]]:
    cur = await conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN information_schema.tables t"
        " USING (table_schema, table_name) WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position")
    out: dict[str, list[str]] = {}
    for r in await cur.fetchall():
        out.setdefault(r["table_name"], []).append(r["column_name"])
    return out


async def count(conn: AsyncConnection[Any], query: sql.Composable, params: tuple[Any, ...]) -> int:
    cur = await conn.execute(query, params)
    row = await cur.fetchone()
    return int(row["n"])


async def tenant_rows(conn: AsyncConnection[Any], tenant_id: int) -> dict[str, int]:
    """Rows referencing the tenant in every table; fails on a table it cannot tell about."""
    found: dict[str, int] = {}
    for table, cols in (await columns(conn)).items():
        t = sql.Identifier(table)
        if table == "tenants":
            n = await count(conn, sql.SQL("SELECT count(*) AS n FROM tenants WHERE id = %s"), (tenant_id,))
        elif "tenant_id" in cols:
            n = await count(conn, sql.SQL("SELECT count(*) AS n FROM {} WHERE tenant_id = %s").format(t), (tenant_id,))
        elif "thread_id" in cols:  # LangGraph checkpoints: thread "{tenant_id}:{conversation_id}"
            n = await count(conn, sql.SQL("SELECT count(*) AS n FROM {} WHERE thread_id LIKE %s").format(t),
                            (f"{tenant_id}:%",))
        else:
            assert table in NOT_TENANT_DATA, f"table {table} has no tenant_id: say how tenant deletion reaches it"
            continue
        found[table] = n
    return found


async def customer_rows(conn: AsyncConnection[Any], tenant_id: int, *, customer_ids: list[int],
                        conversation_ids: list[int], message_ids: list[int], markers: list[str]) -> list[str]:
    """What is left of a person: rows pointing at their ids in any table, rows of their checkpoint
    threads, and any row in any table whose text contains one of ``markers`` (their address, name,
    words only they wrote). Returns descriptions of what was found; empty means nothing is left."""
    ids = {"customer": customer_ids, "conversation": conversation_ids, "message": message_ids}
    threads = [f"{tenant_id}:{c}" for c in conversation_ids]
    left: list[str] = []
    for table, cols in (await columns(conn)).items():
        t = sql.Identifier(table)
        for col in cols:
            m = LINK.search(col)
            if m:
                n = await count(conn, sql.SQL("SELECT count(*) AS n FROM {} WHERE {} = ANY(%s)").format(
                    t, sql.Identifier(col)), (ids[m.group(2)],))
                if n:
                    left.append(f"{table}.{col}: {n} rows")
        if "thread_id" in cols:
            n = await count(conn, sql.SQL("SELECT count(*) AS n FROM {} WHERE thread_id = ANY(%s)").format(t),
                            (threads,))
            if n:
                left.append(f"{table}.thread_id: {n} rows")
        for marker in markers:
            n = await count(conn, sql.SQL("SELECT count(*) AS n FROM {} x WHERE x::text ILIKE %s").format(t),
                            (f"%{marker}%",))
            if n:
                left.append(f"{table}: {n} rows mention {marker!r}")
    return left
