"""REST v1 customer attributes: plan tier, account value, tenure, region and free-form attributes.

The same validator as the console and CSV import (``store.customer_attributes``), so a value refused
in one place is refused, with the same field name, everywhere. A merged customer answers (and is
written) as its canonical customer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from gateway.api.customers import CustomerPath
from gateway.api.models import Strict
from gateway.api.operations import Operation
from gateway.api.routes import PREFIX, json_out, parse
from gateway.http_errors import FieldError
from store import customer_attributes
from store.api_tokens import ApiToken

Scalar = str | int | float | bool | None


class AttributesOut(BaseModel):
    customer_id: int = Field(description="the canonical customer the attributes belong to")
    plan_tier: str | None = Field(description="keys SLA policies (e.g. enterprise → tighter targets)")
    account_value: float | None
    customer_since: date | None = Field(description="tenure: the customer since this date")
    region: str | None
    attributes: dict[str, Any] = Field(description="free-form, at most 50 keys and 8 KB")


class AttributesPatch(Strict):
    """Only the fields sent change; null clears a field, and in ``attributes`` removes that key."""

    plan_tier: str | None = Field(default=None, max_length=40)
    account_value: float | str | None = None
    customer_since: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD")
    region: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Scalar] | None = None


class CustomerAttributesRestApi:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    def operations(self) -> list[Operation]:
        path = f"{PREFIX}/customers/{{id}}/attributes"
        return [
            Operation("getCustomerAttributes", "GET", path, "read", "A customer's tier, value, tenure, region and"
                      " attributes", self.get, {200: (AttributesOut,)}, path_params=CustomerPath,
                      errors=(401, 403, 404, 422, 429)),
            Operation("updateCustomerAttributes", "PATCH", path, "write", "Change a customer's attributes",
                      self.patch, {200: (AttributesOut,)}, body=AttributesPatch, path_params=CustomerPath,
                      description="Fields not sent are kept; null clears one. A new plan_tier moves open"
                                  " conversations' SLA due times on the next SLA tick.",
                      errors=(401, 403, 404, 422, 429)),
        ]

    async def get(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        customer_id = parse(CustomerPath, dict(request.match_info)).id
        async with self.pool.connection() as conn:
            found = await customer_attributes.get(conn, token.tenant_id, customer_id)
        if found is None:
            raise FieldError("id", f"customer {customer_id} not found", status=404, code="not_found")
        return json_out(AttributesOut(**found))

    async def patch(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        customer_id = parse(CustomerPath, dict(request.match_info)).id
        req = parse(AttributesPatch, await request.json())
        given = {k: getattr(req, k) for k in req.model_fields_set}
        if not given:
            raise FieldError("body", f"give at least one of {', '.join(customer_attributes.FIELDS)}")
        changes, errors = customer_attributes.validate(given, today=datetime.now(UTC).date())
        if errors:
            raise FieldError(errors[0].field, errors[0].message)
        async with self.pool.connection() as conn, conn.transaction():
            if await customer_attributes.get(conn, token.tenant_id, customer_id) is None:
                raise FieldError("id", f"customer {customer_id} not found", status=404, code="not_found")
            try:
                found = await customer_attributes.apply(conn, token.tenant_id, customer_id, changes,
                                                        actor=f"api_token:{token.id}")
            except customer_attributes.AttributesTooLarge as exc:
                raise FieldError("attributes", str(exc)) from None
        return json_out(AttributesOut(**found))
