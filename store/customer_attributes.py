"""Customer attributes: plan tier, account value, tenure, region and bounded free-form attributes.

One validator serves every way in (the console, CSV import, the REST API), so the same input gets the
same answer and the same field name in its error. The typed columns are what SLA policies (tier) and
reports key on; free-form attributes are a small JSON object an admin may use for anything else.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from psycopg import AsyncConnection

from store import audit, customers

TIER = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FIELDS = ("plan_tier", "account_value", "customer_since", "region", "attributes")
MAX_ACCOUNT_VALUE = Decimal("999999999999.99")  # numeric(14, 2)
MAX_REGION = 64
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE = 500
MAX_ATTRIBUTES_BYTES = 8192  # the table's CHECK says the same
EARLIEST_SINCE = date(1900, 1, 1)


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


def validate(data: Mapping[str, Any], *, today: date) -> tuple[dict[str, Any], list[FieldError]]:
    """The column changes to write, and every field at fault. ``None`` (or "") clears a typed field;
    ``attributes`` merges into the stored object, a ``None`` value removing that key."""
    changes: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key in data:
        if key not in FIELDS:
            errors.append(FieldError(key, f"not a customer attribute (known: {', '.join(FIELDS)})"))
    if "plan_tier" in data:
        tier = data["plan_tier"]
        if tier is None or tier == "":
            changes["plan_tier"] = None
        elif isinstance(tier, str) and TIER.match(tier.strip().lower()):
            changes["plan_tier"] = tier.strip().lower()
        else:
            errors.append(FieldError("plan_tier", "a slug: lower-case letters, digits, _ or -, at most 40 characters"))
    if "account_value" in data:
        value = data["account_value"]
        amount = _amount(value)
        if value is None or value == "":
            changes["account_value"] = None
        elif amount is None:
            errors.append(FieldError("account_value", f"a non-negative amount up to {MAX_ACCOUNT_VALUE}, at most 2 decimals"))
        else:
            changes["account_value"] = amount
    if "customer_since" in data:
        raw = data["customer_since"]
        since = _date(raw)
        if raw is None or raw == "":
            changes["customer_since"] = None
        elif since is None:
            errors.append(FieldError("customer_since", "a date as YYYY-MM-DD"))
        elif not EARLIEST_SINCE <= since <= today:
            errors.append(FieldError("customer_since", f"between {EARLIEST_SINCE} and today"))
        else:
            changes["customer_since"] = since
    if "region" in data:
        region = data["region"]
        if region is None or region == "":
            changes["region"] = None
        elif isinstance(region, str) and 0 < len(region.strip()) <= MAX_REGION and storable(region):
            changes["region"] = region.strip()
        else:
            errors.append(FieldError("region", f"text of at most {MAX_REGION} characters"))
    if "attributes" in data:
        patch, found = _attributes(data["attributes"])
        errors.extend(found)
        if not found:
            changes["attributes"] = patch
    return changes, errors


def storable(text: str) -> bool:
    """PostgreSQL text holds no NUL and JSON from a client may carry lone surrogates: refuse both as input."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_ACCOUNT_VALUE or amount != round(amount, 2):
        return None
    return amount


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _attributes(value: Any) -> tuple[dict[str, Any], list[FieldError]]:
    if not isinstance(value, Mapping):
        return {}, [FieldError("attributes", "an object of key → text, number, true/false or null")]
    if len(value) > MAX_ATTRIBUTES:
        return {}, [FieldError("attributes", f"at most {MAX_ATTRIBUTES} keys")]
    errors = []
    for key, item in value.items():
        at = f"attributes.{key}"
        if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
            errors.append(FieldError(at, "a key of letters, digits, _ . or -, at most 64 characters"))
        elif isinstance(item, str) and len(item) > MAX_ATTRIBUTE_VALUE:
            errors.append(FieldError(at, f"at most {MAX_ATTRIBUTE_VALUE} characters"))
        elif isinstance(item, str) and not storable(item):
            errors.append(FieldError(at, "text without NUL characters"))
        elif isinstance(item, float) and not math.isfinite(item):
            errors.append(FieldError(at, "a finite number"))
        elif item is not None and not isinstance(item, str | int | float | bool):
            errors.append(FieldError(at, "text, a number, true/false or null"))
    return dict(value), errors


def _merged(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    out = {**current}
    for key, item in patch.items():
        if item is None:
            out.pop(key, None)
        else:
            out[key] = item
    return out


def as_json(row: Mapping[str, Any]) -> dict[str, Any]:
    value = row["account_value"]
    since = row["customer_since"]
    return {"plan_tier": row["plan_tier"], "account_value": float(value) if value is not None else None,
            "customer_since": since.isoformat() if since else None, "region": row["region"],
            "attributes": row["attributes"] or {}}


async def get(conn: AsyncConnection[Any], tenant_id: int, customer_id: int) -> dict[str, Any] | None:
    """The canonical customer's attributes (a merged customer answers with its target's)."""
    try:
        root = await customers.canonical(conn, tenant_id, customer_id)
    except LookupError:
        return None
    cur = await conn.execute(
        "SELECT id, plan_tier, account_value, customer_since, region, attributes FROM customers"
        " WHERE tenant_id = %s AND id = %s", (tenant_id, root))
    row = await cur.fetchone()
    return {"customer_id": row["id"], **as_json(row)} if row else None


class AttributesTooLarge(ValueError):
    pass


async def apply(conn: AsyncConnection[Any], tenant_id: int, customer_id: int, changes: Mapping[str, Any], *,
                actor: str) -> dict[str, Any]:
    """Writes validated changes to the canonical customer, audited; returns the stored attributes."""
    root = await customers.canonical(conn, tenant_id, customer_id)
    cur = await conn.execute(
        "SELECT plan_tier, account_value, customer_since, region, attributes FROM customers"
        " WHERE tenant_id = %s AND id = %s FOR UPDATE", (tenant_id, root))
    before = await cur.fetchone()
    assert before is not None
    cols = {k: v for k, v in changes.items() if k != "attributes"}
    if "attributes" in changes:
        merged = _merged(before["attributes"] or {}, changes["attributes"])
        if len(merged) > MAX_ATTRIBUTES or len(json.dumps(merged).encode()) > MAX_ATTRIBUTES_BYTES:
            raise AttributesTooLarge(f"attributes would exceed {MAX_ATTRIBUTES} keys or {MAX_ATTRIBUTES_BYTES} bytes")
        cols["attributes"] = json.dumps(merged)
    if cols:
        sets = ", ".join(f"{k} = %s" for k in cols)  # keys come from FIELDS only
        await conn.execute(f"UPDATE customers SET {sets} WHERE tenant_id = %s AND id = %s",
                           (*cols.values(), tenant_id, root))
        await audit.record(conn, tenant_id, actor=actor, action="customer.attributes_updated",
                           subject_type="customer", subject_id=root,
                           details={"before": as_json(before),
                                    "changes": {k: str(v) if isinstance(v, Decimal | date) else v
                                                for k, v in changes.items()}})
    found = await get(conn, tenant_id, root)
    assert found is not None
    return found
