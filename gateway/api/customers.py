"""REST v1 customers: the record, its identities and claims with provenance, merge and undo, erasure.

- Another tenant's customer (or merge) is 404, never 403.
- ``GET /customers/{id}`` of a customer merged into another returns it with ``canonical_id`` set;
  identities are those of the whole merged group, as agents see them.
- A merge through the API is recorded with ``claim_source`` ``api_external_id`` (the tenant's own
  system asserted it), the token as the actor and the caller's reason; undoing it is one call.
- ``DELETE /customers/{id}`` is GDPR erasure of the person: the customer and everyone merged into it,
  with all their conversations and data (``store.tenant_data.erase_customer``); audit rows stay with
  their details blanked. Scope ``admin``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from gateway import tenant_admin
from gateway.api.models import Strict
from gateway.api.operations import Operation
from gateway.api.routes import PREFIX, json_out, parse
from gateway.http_errors import FieldError
from store import customers
from store.api_tokens import ApiToken
from store.models import ClaimSource
from store.trust import policy

MAX_ID = 2**63 - 1


class CustomerPath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID)


class MergePath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID)
    merge_id: int = Field(ge=1, le=MAX_ID)


class CustomerOut(BaseModel):
    id: int
    canonical_id: int = Field(description="the customer this one is merged into (itself when not merged)")
    display_name: str | None
    attributes: dict[str, Any]
    merged_into: int | None
    merged_customer_ids: list[int] = Field(description="every customer in the merged group, canonical first")
    created_at: datetime


class IdentityOut(BaseModel):
    id: int
    customer_id: int = Field(description="the group member the identity was recorded on")
    kind: str = Field(description="email, slack_user, chat_visitor or external")
    value: str
    source: str = Field(description="how the claim reached us (provenance), e.g. email_from, chat_typed_email")
    links: bool = Field(description="true: resolves messages to this customer; false: a claim agents see")
    verified: bool
    threads: bool = Field(description="may continue the customer's open conversation (trust table)")
    sees_history: bool
    receives_replies: bool
    created_at: datetime


class MergeOut(BaseModel):
    id: int
    source_customer_id: int
    target_customer_id: int
    identity_id: int | None = Field(description="the identity whose claim caused the merge, if any")
    claim_source: str
    reason: str
    actor: str
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None


class CustomerIdentities(BaseModel):
    customer_id: int
    identities: list[IdentityOut]
    merges: list[MergeOut] = Field(description="merges touching the group, with who, when, why; undone ones too")


class MergeRequest(Strict):
    source_customer_id: int = Field(ge=1, le=MAX_ID, description="merged into the customer in the path")
    reason: str = Field(min_length=1, max_length=500)


class ErasureResult(BaseModel):
    erased_customer_ids: list[int]
    conversations: int
    messages: int
    identities: int


def _not_found(customer_id: int, field: str = "id") -> FieldError:
    return FieldError(field, f"customer {customer_id} not found", status=404, code="not_found")


class CustomersApi:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    def operations(self) -> list[Operation]:
        c = f"{PREFIX}/customers/{{id}}"
        return [
            Operation("getCustomer", "GET", c, "read", "A customer with its attributes", self.get,
                      {200: (CustomerOut,)}, path_params=CustomerPath, errors=(401, 403, 404, 422, 429)),
            Operation("listCustomerIdentities", "GET", f"{c}/identities", "read",
                      "A customer's identities and claims, with provenance and merges", self.identities,
                      {200: (CustomerIdentities,)}, path_params=CustomerPath, errors=(401, 403, 404, 422, 429)),
            Operation("mergeCustomers", "POST", f"{c}/merges", "write", "Merge another customer into this one",
                      self.merge, {201: (MergeOut,)}, body=MergeRequest, path_params=CustomerPath,
                      description="Both customers' groups become one; undo with the returned merge id."
                                  " 409 when they are one already.", errors=(401, 403, 404, 409, 422, 429)),
            Operation("undoCustomerMerge", "POST", f"{c}/merges/{{merge_id}}/undo", "write", "Undo a merge",
                      self.undo, {200: (MergeOut,)}, path_params=MergePath,
                      description="The merge must involve the customer in the path. 409 when already undone.",
                      errors=(401, 403, 404, 409, 422, 429)),
            Operation("eraseCustomer", "DELETE", c, "admin", "Erase a customer (GDPR)", self.erase,
                      {200: (ErasureResult,)}, path_params=CustomerPath,
                      description="Irreversible. Deletes the customer, every customer merged into it, their"
                                  " identities, conversations, messages, outbox rows, suggestions, embeddings and"
                                  " graph state; audit rows keep only who did what and when.",
                      errors=(401, 403, 404, 422, 429)),
        ]

    async def _group(self, conn: AsyncConnection[Any], tenant_id: int, customer_id: int, field: str = "id"
                     ) -> list[int]:
        try:
            return await customers.group(conn, tenant_id, customer_id)
        except LookupError:
            raise _not_found(customer_id, field) from None

    async def get(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        customer_id = parse(CustomerPath, dict(request.match_info)).id
        async with self.pool.connection() as conn:
            group = await self._group(conn, token.tenant_id, customer_id)
            cur = await conn.execute("SELECT * FROM customers WHERE tenant_id = %s AND id = %s",
                                     (token.tenant_id, customer_id))
            row = await cur.fetchone()
        assert row is not None
        return json_out(CustomerOut(id=row["id"], canonical_id=group[0], display_name=row["display_name"],
                                    attributes=row["attributes"], merged_into=row["merged_into"],
                                    merged_customer_ids=group, created_at=row["created_at"]))

    async def identities(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        customer_id = parse(CustomerPath, dict(request.match_info)).id
        async with self.pool.connection() as conn:
            group = await self._group(conn, token.tenant_id, customer_id)
            idents = await customers.identities(conn, token.tenant_id, group)
            merges = await customers.merges(conn, token.tenant_id, group)
        out = []
        for i in idents:
            rule = policy(i.source)
            out.append(IdentityOut(id=i.id, customer_id=i.customer_id, kind=i.kind.value, value=i.value,
                                   source=i.source.value, links=i.links, verified=i.verified,
                                   threads=i.links and rule.threads, sees_history=i.links and rule.sees_history,
                                   receives_replies=i.links and rule.receives_replies, created_at=i.created_at))
        return json_out(CustomerIdentities(customer_id=customer_id, identities=out,
                                           merges=[MergeOut(**_merge_fields(m)) for m in merges]))

    async def merge(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        target_id = parse(CustomerPath, dict(request.match_info)).id
        req = parse(MergeRequest, await request.json())
        async with self.pool.connection() as conn, conn.transaction():
            target = (await self._group(conn, token.tenant_id, target_id))[0]
            source = (await self._group(conn, token.tenant_id, req.source_customer_id, "source_customer_id"))[0]
            if source == target:
                raise FieldError("source_customer_id", "these customers are already one", status=409,
                                 code="conflict")
            try:
                merge_id = await customers.merge(conn, token.tenant_id, source_id=source, target_id=target,
                                                 identity_id=None, claim_source=ClaimSource.API_EXTERNAL_ID,
                                                 reason=req.reason, actor=f"api_token:{token.id}")
            except customers.MergeError as exc:  # merged by someone else meanwhile
                raise FieldError("source_customer_id", str(exc), status=409, code="conflict") from None
            row = await _merge_row(conn, token.tenant_id, merge_id)
        return json_out(MergeOut(**_merge_fields(row)), status=201)

    async def undo(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        path = parse(MergePath, dict(request.match_info))
        async with self.pool.connection() as conn, conn.transaction():
            row = await _merge_row(conn, token.tenant_id, path.merge_id)
            if row is None or path.id not in (row["source_customer_id"], row["target_customer_id"]):
                raise FieldError("merge_id", f"merge {path.merge_id} of customer {path.id} not found", status=404,
                                 code="not_found")
            if row["undone_at"] is not None:
                raise FieldError("merge_id", f"merge {path.merge_id} was undone already", status=409,
                                 code="conflict")
            await customers.undo_merge(conn, token.tenant_id, path.merge_id, actor=f"api_token:{token.id}")
            row = await _merge_row(conn, token.tenant_id, path.merge_id)
        return json_out(MergeOut(**_merge_fields(row)))

    async def erase(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        customer_id = parse(CustomerPath, dict(request.match_info)).id
        try:
            done = await tenant_admin.erase_customer(self.pool, token.tenant_id, customer_id,
                                                     actor=f"api_token:{token.id}")
        except LookupError:
            raise _not_found(customer_id) from None
        return json_out(ErasureResult(erased_customer_ids=done.customer_ids, conversations=done.conversations,
                                      messages=done.messages, identities=done.identities))


async def _merge_row(conn: AsyncConnection[Any], tenant_id: int, merge_id: int) -> dict[str, Any] | None:
    cur = await conn.execute("SELECT * FROM customer_merges WHERE tenant_id = %s AND id = %s", (tenant_id, merge_id))
    return await cur.fetchone()


def _merge_fields(row: Any) -> dict[str, Any]:
    return {k: row[k] for k in MergeOut.model_fields}
