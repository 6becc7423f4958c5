"""Customer attributes in the console: agents read them on the customer panel, admins edit and import them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from store import customer_attributes, customer_import
from store.customer_attributes import FieldError

CSV_TYPES = ("text/csv", "text/plain", "application/csv")


def _fail(status: int, code: str, field: str, message: str) -> NoReturn:
    exc = {404: web.HTTPNotFound, 413: web.HTTPRequestEntityTooLarge, 415: web.HTTPUnsupportedMediaType,
           422: web.HTTPUnprocessableEntity}[status]
    raise exc(text=json.dumps({"error": {"code": code, "field": field, "message": message}}),
              content_type="application/json")


def _customer_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        _fail(404, "not_found", "id", "no such customer")
    return int(raw)


def _invalid(errors: list[FieldError]) -> NoReturn:
    """The first field names the error (as everywhere in the console API); all are listed."""
    raise web.HTTPUnprocessableEntity(text=json.dumps({"error": {
        "code": "invalid", "field": errors[0].field, "message": errors[0].message,
        "fields": [{"field": e.field, "message": e.message} for e in errors]}}), content_type="application/json")


class CustomerAttributesApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/console/api/customers/{id}/attributes", self.get),
            web.patch("/console/api/admin/customers/{id}/attributes", self.patch),
            web.post("/console/api/admin/customers/import", self.import_csv),
        ]

    async def get(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        cid = _customer_id(request)
        async with self.pool.connection() as conn:
            found = await customer_attributes.get(conn, s.tenant_id, cid)
        if found is None:
            _fail(404, "not_found", "id", "no such customer")
        return web.json_response(found)

    async def patch(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        cid = _customer_id(request)
        if request.content_type != "application/json":
            _fail(415, "json_required", "Content-Type", "send application/json")
        try:
            data: Any = await request.json()
        except ValueError:
            _fail(422, "invalid", "body", "not valid JSON")
        if not isinstance(data, dict) or not data:
            _fail(422, "invalid", "body", f"an object with any of {', '.join(customer_attributes.FIELDS)}")
        changes, errors = customer_attributes.validate(data, today=datetime.now(UTC).date())
        if errors:
            _invalid(errors)
        async with self.pool.connection() as conn, conn.transaction():
            if await customer_attributes.get(conn, s.tenant_id, cid) is None:
                _fail(404, "not_found", "id", "no such customer")
            try:
                found = await customer_attributes.apply(conn, s.tenant_id, cid, changes, actor=f"agent:{s.agent_id}")
            except customer_attributes.AttributesTooLarge as exc:
                _fail(422, "too_large", "attributes", str(exc))
        return web.json_response(found)

    async def import_csv(self, request: web.Request) -> web.Response:
        """The CSV is the body; the answer is the per-row report (200 even when some rows failed)."""
        s = await self.auth.require(request, write=True, admin=True)
        if request.content_type not in CSV_TYPES:
            _fail(415, "csv_required", "Content-Type", "send the file as text/csv")
        if request.content_length is not None and request.content_length > customer_import.MAX_BYTES:
            _fail(413, "too_large", "file", f"at most {customer_import.MAX_BYTES} bytes")
        raw = await request.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            _fail(422, "invalid", "file", "not UTF-8 text")
        async with self.pool.connection() as conn, conn.transaction():
            try:
                report = await customer_import.run(conn, s.tenant_id, text, actor=f"agent:{s.agent_id}",
                                                   today=datetime.now(UTC).date())
            except customer_import.ImportRejected as exc:
                _fail(422, "invalid", exc.field, str(exc))
        return web.json_response(report.as_json())
