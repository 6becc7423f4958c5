"""REST v1 webhook subscriptions and their delivery log, for tokens with the ``admin`` scope.

The signing secret is in the response to ``POST /webhooks`` only. A subscription that failed
``webhook_disable_after_failures`` deliveries in a row shows ``enabled: false`` and its
``disabled_reason`` (also an audit event); ``PATCH {"enabled": true}`` turns it back on, with the
failure count reset. Deliveries that failed while it was off are not resent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field, model_validator

from gateway.api.models import Strict
from gateway.api.operations import Operation
from gateway.api.routes import PREFIX, json_out, parse
from gateway.http_errors import FieldError
from store import webhooks
from store.api_tokens import ApiToken

MAX_ID = 2**63 - 1
MAX_SUBSCRIPTIONS = 20
EventType = Literal["conversation.created", "message.created", "conversation.escalated", "sla.breached",
                    "conversation.resolved", "csat.received"]
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
URL_HELP = "http(s) URL that receives a POST"


class WebhookPath(Strict):
    id: int = Field(ge=1, le=MAX_ID)


class DeliveriesQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200)


class CreateWebhookRequest(Strict):
    url: str = Field(max_length=2000, pattern=URL_PATTERN, description=URL_HELP)
    events: list[EventType] = Field(min_length=1, max_length=len(webhooks.EVENT_TYPES))
    description: str | None = Field(default=None, max_length=500)


class PatchWebhookRequest(Strict):
    url: str | None = Field(default=None, max_length=2000, pattern=URL_PATTERN, description=URL_HELP)
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=len(webhooks.EVENT_TYPES))
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    @model_validator(mode="after")
    def something(self) -> PatchWebhookRequest:
        if all(v is None for v in (self.url, self.events, self.description, self.enabled)):
            raise ValueError("give url, events, description or enabled")
        return self


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="why it was turned off (repeated failures, or by whom)")
    consecutive_failures: int
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="signs every delivery (see README); shown only in this response")


class WebhookList(BaseModel):
    data: list[WebhookOut]


class WebhookDeleted(BaseModel):
    deleted: int


class DeliveryOut(BaseModel):
    id: int
    event_id: str = Field(description="the Webhook-Id header of every attempt")
    event_type: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None = Field(description="when the next attempt is due, while pending")


class DeliveryLog(BaseModel):
    data: list[DeliveryOut] = Field(description="newest first")


def _out(s: webhooks.Subscription) -> dict[str, object]:
    return {"id": s.id, "url": s.url, "events": list(s.events), "description": s.description, "enabled": s.enabled,
            "disabled_reason": s.disabled_reason, "consecutive_failures": s.consecutive_failures,
            "created_at": s.created_at}


def _not_found(subscription_id: int) -> FieldError:
    return FieldError("id", f"webhook {subscription_id} not found", status=404, code="not_found")


class WebhooksApi:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    def operations(self) -> list[Operation]:
        many, one = f"{PREFIX}/webhooks", f"{PREFIX}/webhooks/{{id}}"
        return [
            Operation("listWebhooks", "GET", many, "admin", "List webhook subscriptions", self.list,
                      {200: (WebhookList,)}),
            Operation("createWebhook", "POST", many, "admin", "Subscribe a URL to events", self.create,
                      {201: (WebhookCreated,)}, body=CreateWebhookRequest, errors=(401, 403, 409, 422, 429),
                      description="The response carries the signing secret; it is not shown again."
                                  f" At most {MAX_SUBSCRIPTIONS} subscriptions per tenant."),
            Operation("getWebhook", "GET", one, "admin", "A webhook subscription", self.get, {200: (WebhookOut,)},
                      path_params=WebhookPath, errors=(401, 403, 404, 422, 429)),
            Operation("patchWebhook", "PATCH", one, "admin", "Change a subscription, or turn it on or off",
                      self.patch, {200: (WebhookOut,)}, body=PatchWebhookRequest, path_params=WebhookPath,
                      errors=(401, 403, 404, 422, 429),
                      description="`enabled: true` re-enables a subscription disabled after failures."),
            Operation("deleteWebhook", "DELETE", one, "admin", "Delete a subscription", self.delete,
                      {200: (WebhookDeleted,)}, path_params=WebhookPath, errors=(401, 403, 404, 422, 429)),
            Operation("listWebhookDeliveries", "GET", f"{one}/deliveries", "admin", "Recent deliveries of a subscription",
                      self.deliveries, {200: (DeliveryLog,)}, path_params=WebhookPath, query=DeliveriesQuery,
                      errors=(401, 403, 404, 422, 429),
                      description="Status, attempts and the last error of each event delivery, newest first."),
        ]

    async def list(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        async with self.pool.connection() as conn:
            subs = await webhooks.list_for(conn, token.tenant_id, limit=MAX_SUBSCRIPTIONS)
        return json_out(WebhookList(data=[WebhookOut(**_out(s)) for s in subs]))

    async def create(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        req = parse(CreateWebhookRequest, await request.json())
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('webhooks'), %s::int)",
                               (token.tenant_id % 2**31,))  # the limit holds under concurrent creates
            if len(await webhooks.list_for(conn, token.tenant_id, limit=MAX_SUBSCRIPTIONS)) >= MAX_SUBSCRIPTIONS:
                raise FieldError("url", f"at most {MAX_SUBSCRIPTIONS} subscriptions per tenant", status=409,
                                 code="conflict")
            sub = await webhooks.create(conn, token.tenant_id, url=req.url, events=req.events,
                                        description=req.description, created_by=f"api:{token.id}")
        return json_out(WebhookCreated(**_out(sub), secret=sub.secret), status=201)

    async def get(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        sub_id = parse(WebhookPath, dict(request.match_info)).id
        async with self.pool.connection() as conn:
            sub = await webhooks.get(conn, token.tenant_id, sub_id)
        if sub is None:
            raise _not_found(sub_id)
        return json_out(WebhookOut(**_out(sub)))

    async def patch(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        sub_id = parse(WebhookPath, dict(request.match_info)).id
        req = parse(PatchWebhookRequest, await request.json())
        async with self.pool.connection() as conn, conn.transaction():
            sub = await webhooks.update(conn, token.tenant_id, sub_id, actor=f"api:{token.id}", url=req.url,
                                        events=req.events, description=req.description, enabled=req.enabled)
        if sub is None:
            raise _not_found(sub_id)
        return json_out(WebhookOut(**_out(sub)))

    async def delete(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        sub_id = parse(WebhookPath, dict(request.match_info)).id
        async with self.pool.connection() as conn, conn.transaction():
            if not await webhooks.delete(conn, token.tenant_id, sub_id, actor=f"api:{token.id}"):
                raise _not_found(sub_id)
        return json_out(WebhookDeleted(deleted=sub_id))

    async def deliveries(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        sub_id = parse(WebhookPath, dict(request.match_info)).id
        q = parse(DeliveriesQuery, dict(request.query))
        async with self.pool.connection() as conn:
            if await webhooks.get(conn, token.tenant_id, sub_id) is None:
                raise _not_found(sub_id)
            rows = await webhooks.deliveries(conn, token.tenant_id, sub_id, limit=q.limit)
        return json_out(DeliveryLog(data=[DeliveryOut(**r) for r in rows]))
