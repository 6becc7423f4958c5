"""Customers, their identities and claims, and reversible merges.

A merge never moves rows: the merged customer points at its target (``merged_into``), so undoing it
is one update and nothing is lost. Readers resolve a customer to its canonical record and its group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from store import audit
from store.models import ClaimSource, Customer, Identity, IdentityClaim, IdentityKind
from store.trust import policy


class MergeError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Resolved:
    customer_id: int  # canonical customer
    identity_id: int  # the identity the message arrived on
    source: ClaimSource


def _customer(row: dict[str, Any]) -> Customer:
    return Customer(row["id"], row["tenant_id"], row["display_name"], row["merged_into"], row["created_at"])


def _identity(row: dict[str, Any]) -> Identity:
    return Identity(
        id=row["id"],
        tenant_id=row["tenant_id"],
        customer_id=row["customer_id"],
        kind=IdentityKind(row["kind"]),
        value=row["value"],
        source=ClaimSource(row["source"]),
        links=row["links"],
        verified=row["verified"],
        created_at=row["created_at"],
    )


async def get(conn: AsyncConnection[Any], tenant_id: int, customer_id: int) -> Customer | None:
    cur = await conn.execute("SELECT * FROM customers WHERE tenant_id = %s AND id = %s", (tenant_id, customer_id))
    row = await cur.fetchone()
    return _customer(row) if row else None


async def canonical(conn: AsyncConnection[Any], tenant_id: int, customer_id: int) -> int:
    cur = await conn.execute(
        "WITH RECURSIVE chain(id, merged_into, depth) AS ("
        "  SELECT id, merged_into, 0 FROM customers WHERE tenant_id = %s AND id = %s"
        "  UNION ALL SELECT c.id, c.merged_into, chain.depth + 1 FROM customers c JOIN chain ON c.id = chain.merged_into"
        "  WHERE c.tenant_id = %s AND chain.depth < 32)"
        " SELECT id FROM chain WHERE merged_into IS NULL LIMIT 1",
        (tenant_id, customer_id, tenant_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise LookupError(f"customer {customer_id} not found")
    return int(row["id"])


async def group(conn: AsyncConnection[Any], tenant_id: int, customer_id: int) -> list[int]:
    """The canonical customer of ``customer_id`` and every customer merged into it.

    One statement (root first, then the tree under it): every inbound message asks this."""
    cur = await conn.execute(
        "WITH RECURSIVE chain(id, merged_into, depth) AS ("
        "  SELECT id, merged_into, 0 FROM customers WHERE tenant_id = %s AND id = %s"
        "  UNION ALL SELECT c.id, c.merged_into, chain.depth + 1 FROM customers c JOIN chain ON c.id = chain.merged_into"
        "  WHERE c.tenant_id = %s AND chain.depth < 32),"
        " root AS (SELECT id FROM chain WHERE merged_into IS NULL LIMIT 1),"
        " g(id, depth) AS (SELECT id, 0 FROM root UNION ALL"
        "  SELECT c.id, g.depth + 1 FROM customers c JOIN g ON c.merged_into = g.id WHERE c.tenant_id = %s AND g.depth < 32)"
        " SELECT id FROM g ORDER BY depth, id",
        (tenant_id, customer_id, tenant_id, tenant_id),
    )
    ids = [int(r["id"]) for r in await cur.fetchall()]
    if not ids:
        raise LookupError(f"customer {customer_id} not found")
    return ids


async def identities(conn: AsyncConnection[Any], tenant_id: int, customer_ids: list[int]) -> list[Identity]:
    cur = await conn.execute(
        "SELECT * FROM identities WHERE tenant_id = %s AND customer_id = ANY(%s) ORDER BY id",
        (tenant_id, customer_ids),
    )
    return [_identity(r) for r in await cur.fetchall()]


async def find_linking(conn: AsyncConnection[Any], tenant_id: int, kind: IdentityKind, value: str) -> Identity | None:
    cur = await conn.execute(
        "SELECT * FROM identities WHERE tenant_id = %s AND kind = %s AND value = %s AND links",
        (tenant_id, kind.value, value),
    )
    row = await cur.fetchone()
    return _identity(row) if row else None


async def _create_customer(conn: AsyncConnection[Any], tenant_id: int, display_name: str | None) -> int:
    cur = await conn.execute(
        "INSERT INTO customers (tenant_id, display_name) VALUES (%s, %s) RETURNING id", (tenant_id, display_name)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def _link_or_create(conn: AsyncConnection[Any], tenant_id: int, claim: IdentityClaim) -> Identity:
    """The linking identity for ``claim``, creating its customer if new; safe under concurrency."""
    existing = await find_linking(conn, tenant_id, claim.kind, claim.value)
    if existing:
        return existing
    customer_id = await _create_customer(conn, tenant_id, claim.display_name)
    cur = await conn.execute(
        "INSERT INTO identities (tenant_id, customer_id, kind, value, source, links, verified)"
        " VALUES (%s, %s, %s, %s, %s, true, %s) ON CONFLICT (tenant_id, kind, value) WHERE links DO NOTHING RETURNING *",
        (tenant_id, customer_id, claim.kind.value, claim.value, claim.source.value,
         claim.source is ClaimSource.CHAT_VERIFIED_EMAIL),
    )
    row = await cur.fetchone()
    if row is not None:
        return _identity(row)
    # Another transaction linked it first: drop our customer and use theirs.
    await conn.execute("DELETE FROM customers WHERE tenant_id = %s AND id = %s", (tenant_id, customer_id))
    existing = await find_linking(conn, tenant_id, claim.kind, claim.value)
    assert existing is not None
    return existing


async def add_claim(conn: AsyncConnection[Any], tenant_id: int, customer_id: int, claim: IdentityClaim) -> None:
    await conn.execute(
        "INSERT INTO identities (tenant_id, customer_id, kind, value, source, links) VALUES (%s, %s, %s, %s, %s, false)"
        " ON CONFLICT (tenant_id, kind, value, customer_id) WHERE NOT links DO NOTHING",
        (tenant_id, customer_id, claim.kind.value, claim.value, claim.source.value),
    )


async def resolve(conn: AsyncConnection[Any], tenant_id: int, claims: tuple[IdentityClaim, ...], *, actor: str) -> Resolved:
    """Turns a message's identity claims into one customer, following the trust table."""
    normalized = [c.normalized() for c in claims]
    primary = next((c for c in normalized if policy(c.source).links), None)
    if primary is None:
        raise ValueError("a message needs at least one identity claim that links to a customer")
    ident = await _link_or_create(conn, tenant_id, primary)
    customer_id = await canonical(conn, tenant_id, ident.customer_id)
    for claim in normalized:
        if claim is primary:
            continue
        rule = policy(claim.source)
        if not rule.links:
            await add_claim(conn, tenant_id, customer_id, claim)
            continue
        other = await find_linking(conn, tenant_id, claim.kind, claim.value)
        if other is None:
            await conn.execute(
                "INSERT INTO identities (tenant_id, customer_id, kind, value, source, links, verified)"
                " VALUES (%s, %s, %s, %s, %s, true, %s) ON CONFLICT (tenant_id, kind, value) WHERE links DO NOTHING",
                (tenant_id, customer_id, claim.kind.value, claim.value, claim.source.value, rule.merges),
            )
            continue
        other_root = await canonical(conn, tenant_id, other.customer_id)
        if other_root == customer_id:
            continue
        if rule.merges:
            await merge(conn, tenant_id, source_id=customer_id, target_id=other_root, identity_id=other.id,
                        claim_source=claim.source, reason=f"{claim.kind}:{claim.value} matched", actor=actor)
            customer_id = other_root
        else:
            await add_claim(conn, tenant_id, customer_id, claim)
    return Resolved(customer_id, ident.id, primary.source)


async def merge(
    conn: AsyncConnection[Any], tenant_id: int, *, source_id: int, target_id: int, identity_id: int | None,
    claim_source: ClaimSource, reason: str, actor: str,
) -> int:
    if await canonical(conn, tenant_id, target_id) == await canonical(conn, tenant_id, source_id):
        raise MergeError("these customers are already one")
    cur = await conn.execute(
        "UPDATE customers SET merged_into = %s WHERE tenant_id = %s AND id = %s AND merged_into IS NULL RETURNING id",
        (target_id, tenant_id, source_id),
    )
    if await cur.fetchone() is None:
        raise MergeError(f"customer {source_id} is not a canonical customer of this tenant")
    cur = await conn.execute(
        "INSERT INTO customer_merges (tenant_id, source_customer_id, target_customer_id, identity_id, claim_source, reason, actor)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (tenant_id, source_id, target_id, identity_id, claim_source.value, reason, actor),
    )
    row = await cur.fetchone()
    assert row is not None
    await audit.record(conn, tenant_id, actor=actor, action="customer.merged", subject_type="customer",
                       subject_id=target_id, details={"source": source_id, "merge_id": row["id"], "reason": reason,
                                                      "claim": claim_source.value})
    return int(row["id"])


async def undo_merge(conn: AsyncConnection[Any], tenant_id: int, merge_id: int, *, actor: str) -> None:
    cur = await conn.execute(
        "UPDATE customer_merges SET undone_at = now(), undone_by = %s"
        " WHERE tenant_id = %s AND id = %s AND undone_at IS NULL RETURNING source_customer_id, target_customer_id",
        (actor, tenant_id, merge_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise MergeError(f"merge {merge_id} not found or already undone")
    await conn.execute(
        "UPDATE customers SET merged_into = NULL WHERE tenant_id = %s AND id = %s AND merged_into = %s",
        (tenant_id, row["source_customer_id"], row["target_customer_id"]),
    )
    await audit.record(conn, tenant_id, actor=actor, action="customer.merge_undone", subject_type="customer",
                       subject_id=row["target_customer_id"], details={"source": row["source_customer_id"], "merge_id": merge_id})


async def merges(conn: AsyncConnection[Any], tenant_id: int, customer_ids: list[int]) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT * FROM customer_merges WHERE tenant_id = %s AND (source_customer_id = ANY(%s) OR target_customer_id = ANY(%s))"
        " ORDER BY id",
        (tenant_id, customer_ids, customer_ids),
    )
    return list(await cur.fetchall())


async def verify_claim(conn: AsyncConnection[Any], tenant_id: int, customer_id: int, email: str, *, actor: str) -> int:
    """A chat visitor proved they own ``email`` (one-time link): merge into its owner, or link it."""
    claim = IdentityClaim(IdentityKind.EMAIL, email, ClaimSource.CHAT_VERIFIED_EMAIL).normalized()
    owner = await find_linking(conn, tenant_id, claim.kind, claim.value)
    root = await canonical(conn, tenant_id, customer_id)
    if owner is None:
        await conn.execute(
            "INSERT INTO identities (tenant_id, customer_id, kind, value, source, links, verified)"
            " VALUES (%s, %s, %s, %s, %s, true, true)",
            (tenant_id, root, claim.kind.value, claim.value, claim.source.value),
        )
        await audit.record(conn, tenant_id, actor=actor, action="identity.verified", subject_type="customer",
                           subject_id=root, details={"email": claim.value})
        return root
    target = await canonical(conn, tenant_id, owner.customer_id)
    if target != root:
        await merge(conn, tenant_id, source_id=root, target_id=target, identity_id=owner.id,
                    claim_source=claim.source, reason=f"visitor verified {claim.value} by one-time link", actor=actor)
    return target
