"""Email mailboxes: settings per tenant, the IMAP poller's position, its lease, and thread lookups.

The lease is two columns on the mailbox's state row, taken and renewed with one conditional
UPDATE against the database clock, so any number of worker processes agree on who polls a mailbox
without talking to each other. Every write of the poller's position is fenced by the lease: a
poller that stalled past its lease and lost it cannot move ``last_uid`` under the new holder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from psycopg import AsyncConnection

from store import conversations, customers
from store.models import Channel, IdentityKind
from store.trust import policy

SECURITY = ("tls", "starttls", "none")


@dataclass(frozen=True, slots=True)
class Mailbox:
    id: int
    tenant_id: int
    name: str
    enabled: bool
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    imap_password_env: str
    folder: str
    processed_folder: str | None
    from_address: str
    from_name: str | None
    reply_to: str | None
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str | None
    smtp_password_env: str | None
    poll_seconds: float

    @property
    def domain(self) -> str:
        return self.from_address.rsplit("@", 1)[-1].lower()


@dataclass(frozen=True, slots=True)
class MailboxState:
    uidvalidity: int | None
    last_uid: int
    lease_owner: str | None


_FIELDS = tuple(f.name for f in fields(Mailbox) if f.name not in ("id", "tenant_id"))


def _mailbox(row: dict[str, Any]) -> Mailbox:
    return Mailbox(id=row["id"], tenant_id=row["tenant_id"], **{f: row[f] for f in _FIELDS})


async def create(conn: AsyncConnection[Any], tenant_id: int, **settings: Any) -> Mailbox:
    """Adds a mailbox; ``settings`` are the column names (passwords as ``*_password_env`` names)."""
    unknown = set(settings) - set(_FIELDS)
    if unknown:
        raise ValueError(f"unknown mailbox settings: {sorted(unknown)}")
    cols = list(settings)
    cur = await conn.execute(
        f"INSERT INTO email_mailboxes (tenant_id, {', '.join(cols)}) VALUES (%s{', %s' * len(cols)}) RETURNING *",
        (tenant_id, *settings.values()),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute("INSERT INTO email_mailbox_state (tenant_id, mailbox_id) VALUES (%s, %s)",
                       (tenant_id, row["id"]))
    return _mailbox(row)


async def get(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int) -> Mailbox | None:
    cur = await conn.execute("SELECT * FROM email_mailboxes WHERE tenant_id = %s AND id = %s", (tenant_id, mailbox_id))
    row = await cur.fetchone()
    return _mailbox(row) if row else None


async def default_for(conn: AsyncConnection[Any], tenant_id: int) -> Mailbox | None:
    """The tenant's first enabled mailbox: where mail that answers no email goes out from."""
    cur = await conn.execute(
        "SELECT * FROM email_mailboxes WHERE tenant_id = %s AND enabled ORDER BY id LIMIT 1", (tenant_id,))
    row = await cur.fetchone()
    return _mailbox(row) if row else None


async def all_enabled(conn: AsyncConnection[Any]) -> list[Mailbox]:
    """Every tenant's enabled mailboxes: the one cross-tenant read, for the worker that runs pollers."""
    cur = await conn.execute("SELECT * FROM email_mailboxes WHERE enabled ORDER BY tenant_id, id")
    return [_mailbox(r) for r in await cur.fetchall()]


# --- the poller's lease and position -----------------------------------------------------------


async def acquire_lease(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int, owner: str,
                        ttl_seconds: float) -> bool:
    """Takes or renews the lease; False while another live owner holds it."""
    cur = await conn.execute(
        "UPDATE email_mailbox_state SET lease_owner = %s, lease_expires_at = now() + make_interval(secs => %s)"
        " WHERE tenant_id = %s AND mailbox_id = %s"
        " AND (lease_owner IS NULL OR lease_owner = %s OR lease_expires_at < now()) RETURNING mailbox_id",
        (owner, ttl_seconds, tenant_id, mailbox_id, owner),
    )
    return await cur.fetchone() is not None


async def release_lease(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int, owner: str) -> None:
    await conn.execute(
        "UPDATE email_mailbox_state SET lease_owner = NULL, lease_expires_at = NULL"
        " WHERE tenant_id = %s AND mailbox_id = %s AND lease_owner = %s",
        (tenant_id, mailbox_id, owner),
    )


async def state(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int) -> MailboxState:
    cur = await conn.execute(
        "SELECT uidvalidity, last_uid, lease_owner FROM email_mailbox_state WHERE tenant_id = %s AND mailbox_id = %s",
        (tenant_id, mailbox_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"mailbox {mailbox_id} has no state row")
    return MailboxState(row["uidvalidity"], int(row["last_uid"]), row["lease_owner"])


async def reset_uidvalidity(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int, owner: str,
                            uidvalidity: int) -> bool:
    """A new UIDVALIDITY makes every stored UID meaningless: start over (ingest dedupes by Message-ID)."""
    cur = await conn.execute(
        "UPDATE email_mailbox_state SET uidvalidity = %s, last_uid = 0"
        " WHERE tenant_id = %s AND mailbox_id = %s AND lease_owner = %s AND lease_expires_at > now()"
        " RETURNING mailbox_id",
        (uidvalidity, tenant_id, mailbox_id, owner),
    )
    return await cur.fetchone() is not None


async def advance(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int, owner: str, uid: int) -> bool:
    """Records that everything up to ``uid`` is stored; False if we no longer hold the lease."""
    cur = await conn.execute(
        "UPDATE email_mailbox_state SET last_uid = greatest(last_uid, %s), last_polled_at = now(), last_error = NULL"
        " WHERE tenant_id = %s AND mailbox_id = %s AND lease_owner = %s AND lease_expires_at > now()"
        " RETURNING mailbox_id",
        (uid, tenant_id, mailbox_id, owner),
    )
    return await cur.fetchone() is not None


async def record_error(conn: AsyncConnection[Any], tenant_id: int, mailbox_id: int, error: str) -> None:
    """Shown to admins next to the mailbox; cleared by the next successful advance."""
    await conn.execute(
        "UPDATE email_mailbox_state SET last_error = %s WHERE tenant_id = %s AND mailbox_id = %s",
        (error[:2000], tenant_id, mailbox_id),
    )


# --- what the sender needs to thread and address a reply ---------------------------------------


async def email_raw(conn: AsyncConnection[Any], tenant_id: int, message_id: int) -> dict[str, Any] | None:
    """The stored raw headers of an inbound email message (None if it is not one)."""
    cur = await conn.execute(
        "SELECT raw FROM messages WHERE tenant_id = %s AND id = %s AND channel = 'email' AND direction = 'in'",
        (tenant_id, message_id),
    )
    row = await cur.fetchone()
    return dict(row["raw"]) if row else None


async def last_inbound_email(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT raw FROM messages WHERE tenant_id = %s AND conversation_id = %s AND channel = 'email'"
        " AND direction = 'in' ORDER BY seq DESC LIMIT 1",
        (tenant_id, conversation_id),
    )
    row = await cur.fetchone()
    return dict(row["raw"]) if row else None


async def reply_addresses(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int) -> list[str]:
    """Addresses of the conversation's customer that may receive replies, newest first (store.trust)."""
    conv = await conversations.get(conn, tenant_id, conversation_id)
    group = await customers.group(conn, tenant_id, conv.customer_id)
    idents = await customers.identities(conn, tenant_id, group)
    usable = [i for i in idents if i.kind is IdentityKind.EMAIL and i.links and policy(i.source).receives_replies]
    return [i.value for i in sorted(usable, key=lambda i: i.created_at, reverse=True)]


async def record_outbound(conn: AsyncConnection[Any], tenant_id: int, conversation_id: int | None,
                          message_id: int | None, rfc_message_id: str) -> None:
    """Our Message-ID becomes a thread key, so the customer's answer finds its conversation."""
    if conversation_id is not None:
        await conversations.add_thread_key(conn, tenant_id, Channel.EMAIL, rfc_message_id, conversation_id)
    if message_id is not None:
        await conn.execute(
            "UPDATE messages SET raw = raw || %s::jsonb WHERE tenant_id = %s AND id = %s",
            (json.dumps({"email_message_id": rfc_message_id}), tenant_id, message_id),
        )
