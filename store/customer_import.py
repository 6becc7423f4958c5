"""CSV import of customer attributes: every row validated on its own; good rows imported, bad rows reported.

Columns: ``customer_id`` or ``email`` or ``external_id`` (who), then any of ``name``, ``plan_tier``,
``account_value``, ``customer_since``, ``region``, and ``attr.<key>`` for free-form attributes. An
empty cell leaves that attribute as it is. A row naming an unknown email or external id creates the
customer the way the REST API does (the email links, it never merges anyone); a row naming an unknown
``customer_id`` is an error. Each row runs in its own savepoint, so one bad row never undoes another.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from psycopg import AsyncConnection
from psycopg import errors as pg_errors

from store import customer_attributes, customers
from store.customer_attributes import FieldError
from store.models import ClaimSource, IdentityClaim, IdentityKind

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
MAX_COLUMNS = 60
MAX_CELL = 2000
MAX_REPORTED_ERRORS = 500
KEY_COLUMNS = ("customer_id", "email", "external_id")
PLAIN_COLUMNS = (*KEY_COLUMNS, "name", "plan_tier", "account_value", "customer_since", "region")
ATTR_PREFIX = "attr."


class ImportRejected(ValueError):
    """The file as a whole is unusable (too big, no header, no key column): nothing is imported."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.created + self.updated, "created": self.created,
                "updated": self.updated, "failed": len({e.line for e in self.errors}),
                "errors": [{"line": e.line, "field": e.field, "message": e.message} for e in self.errors],
                "errors_truncated": self.errors_truncated}

    def add(self, line: int, errors: list[FieldError]) -> None:
        for e in errors:
            if len(self.errors) >= MAX_REPORTED_ERRORS:
                self.errors_truncated = True
                return
            self.errors.append(RowError(line, e.field, e.message))


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    cells: dict[str, str]
    width_ok: bool  # as many cells as the header has columns


def parse(text: str) -> list[Row]:
    """Rows with the line each starts on (1 is the header); raises ImportRejected for the file as a whole."""
    if len(text.encode()) > MAX_BYTES:
        raise ImportRejected("file", f"at most {MAX_BYTES // 1024 // 1024} MB")
    if not customer_attributes.storable(text):
        raise ImportRejected("file", "contains NUL characters: not a text CSV")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportRejected("file", "empty: the first line must name the columns") from None
    except csv.Error as exc:
        raise ImportRejected("line 1", f"not CSV: {exc}") from None
    if len(header) > MAX_COLUMNS:
        raise ImportRejected("header", f"at most {MAX_COLUMNS} columns")
    for name in header:
        if name not in PLAIN_COLUMNS and not (name.startswith(ATTR_PREFIX) and len(name) > len(ATTR_PREFIX)):
            raise ImportRejected(f"header.{name or '(empty)'}",
                                 f"unknown column (known: {', '.join(PLAIN_COLUMNS)}, attr.<key>)")
    if len(set(header)) != len(header):
        raise ImportRejected("header", "a column is named twice")
    if not any(k in header for k in KEY_COLUMNS):
        raise ImportRejected("header", f"needs one of {', '.join(KEY_COLUMNS)} to say which customer a row is")
    rows: list[Row] = []
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ImportRejected(f"line {start}", f"not CSV: {exc}") from None
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportRejected("file", f"at most {MAX_ROWS} rows per import")
        rows.append(Row(start, dict(zip(header, values, strict=False)), len(values) == len(header)))
    return rows


def _row_input(row: Row) -> tuple[dict[str, Any], list[FieldError]]:
    errors = []
    if not row.width_ok:
        errors.append(FieldError("row", "has a different number of cells than the header"))
    long = [k for k, v in row.cells.items() if len(v) > MAX_CELL]
    errors.extend(FieldError(k, f"at most {MAX_CELL} characters") for k in long)
    data: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for name, value in row.cells.items():
        value = value.strip()
        if not value or name in KEY_COLUMNS or name == "name" or name in long:
            continue
        if name.startswith(ATTR_PREFIX):
            attrs[name[len(ATTR_PREFIX):]] = value
        else:
            data[name] = value
    if attrs:
        data["attributes"] = attrs
    return data, errors


async def _customer_for(conn: AsyncConnection[Any], tenant_id: int, cells: dict[str, str], *, actor: str
                        ) -> tuple[int | None, bool, list[FieldError]]:
    """(customer id, created, errors) for the row's key columns."""
    raw_id = cells.get("customer_id", "").strip()
    email = cells.get("email", "").strip().lower()
    external = cells.get("external_id", "").strip()
    name = cells.get("name", "").strip()[:200] or None
    if raw_id:
        if not raw_id.isdigit() or len(raw_id) > 18:
            return None, False, [FieldError("customer_id", "a customer number")]
        if await customers.get(conn, tenant_id, int(raw_id)) is None:
            return None, False, [FieldError("customer_id", "no such customer")]
        return await customers.canonical(conn, tenant_id, int(raw_id)), False, []
    if email and ("@" not in email or len(email) > 320 or any(c.isspace() for c in email)):
        return None, False, [FieldError("email", "an email address")]
    if external and len(external) > 200:
        return None, False, [FieldError("external_id", "at most 200 characters")]
    claims = []
    if external:
        claims.append(IdentityClaim(IdentityKind.EXTERNAL, f"import:{external}", ClaimSource.API_EXTERNAL_ID, name))
    if email:
        claims.append(IdentityClaim(IdentityKind.EMAIL, email, ClaimSource.FORM_EMAIL, name))
    if not claims:
        return None, False, [FieldError("customer_id", "give customer_id, email or external_id")]
    known = None
    for claim in claims:
        found = await customers.find_linking(conn, tenant_id, claim.kind, claim.normalized().value)
        if found is not None:
            known = found
            break
    resolved = await customers.resolve(conn, tenant_id, tuple(claims), actor=actor)
    return resolved.customer_id, known is None, []


async def run(conn: AsyncConnection[Any], tenant_id: int, text: str, *, actor: str, today: date) -> ImportReport:
    """Imports what validates; call inside a transaction (each row gets a savepoint of its own)."""
    report = ImportReport()
    for row in parse(text):
        report.rows += 1
        data, errors = _row_input(row)
        changes, found = customer_attributes.validate(data, today=today)
        errors.extend(found)
        if errors:
            report.add(row.line, errors)
            continue
        try:
            async with conn.transaction():
                customer_id, created, errors = await _customer_for(conn, tenant_id, row.cells, actor=actor)
                if errors or customer_id is None:
                    raise _RowFailed(errors)
                await customer_attributes.apply(conn, tenant_id, customer_id, changes, actor=actor)
        except _RowFailed as exc:
            report.add(row.line, exc.errors)
            continue
        except customer_attributes.AttributesTooLarge as exc:
            report.add(row.line, [FieldError("attributes", str(exc))])
            continue
        except pg_errors.IntegrityError as exc:
            report.add(row.line, [FieldError("row", f"rejected by the database: {exc.diag.message_primary}")])
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


class _RowFailed(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("row failed")
        self.errors = errors
