"""REST v1 tenant lifecycle: onboarding and deletion (platform operator), export (the tenant's admin).

Who may do what: creating and deleting a tenant is the platform operator's (its token comes from
``SWITCHBOARD_PLATFORM_ADMIN_TOKEN``; tenant tokens cannot, whatever their scope); exporting is the
tenant's own business, so an ``admin``-scoped token exports its own tenant and nothing else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field

from gateway import tenant_admin
from gateway.api.guard import PLATFORM
from gateway.api.models import Strict
from gateway.api.operations import Operation
from gateway.api.routes import PREFIX, json_out, parse
from gateway.http_errors import FieldError
from store import tenants
from store.api_tokens import ApiToken


class CreateTenantRequest(Strict):
    slug: str = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
                      description="URL name: widget and form live at /widget/<slug>, /forms/<slug>")
    name: str = Field(min_length=1, max_length=200)
    admin_email: str = Field(min_length=3, max_length=320, description="the first admin; signs in with it")
    admin_name: str | None = Field(default=None, max_length=200)


class CreatedTenant(BaseModel):
    tenant_id: int
    slug: str
    name: str
    admin_agent_id: int
    admin_email: str
    password_link: str = Field(description="one-time link where the admin chooses a password; shown once")
    password_link_expires_at: datetime


class TenantSlugPath(BaseModel):
    slug: str = Field(min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")


class DeletedTenant(BaseModel):
    slug: str
    deleted_rows: dict[str, int] = Field(description="rows deleted per table")


class ExportedTenant(BaseModel):
    id: int
    slug: str
    name: str
    settings: dict[str, Any]


class TenantExport(BaseModel):
    """Every row the tenant owns, per table. Left out: credentials (password hashes, token hashes,
    signing secrets, one-time tokens) and embeddings (recomputed from the exported text)."""

    format: str = Field(description=f'"{tenant_admin.EXPORT_FORMAT}"')
    exported_at: datetime
    tenant: ExportedTenant
    tables: dict[str, list[dict[str, Any]]]


class TenantsApi:
    def __init__(self, pool: AsyncConnectionPool, base_url: str) -> None:
        self.pool = pool
        self.base_url = base_url

    def operations(self) -> list[Operation]:
        platform = ("Platform operator only: send `SWITCHBOARD_PLATFORM_ADMIN_TOKEN` as the bearer token;"
                    " tenant tokens get 403.")
        return [
            Operation("createTenant", "POST", f"{PREFIX}/tenants", PLATFORM, "Onboard a tenant",
                      self.create, {201: (CreatedTenant,)}, body=CreateTenantRequest,
                      description="Creates the tenant with default categories, safety rules and SLA policies, and"
                                  " its first admin, who sets a password through the returned one-time link. "
                                  + platform, errors=(401, 403, 409, 422, 429)),
            Operation("deleteTenant", "DELETE", f"{PREFIX}/tenants/{{slug}}", PLATFORM,
                      "Delete a tenant with all its data", self.delete, {200: (DeletedTenant,)},
                      path_params=TenantSlugPath, description="Irreversible. " + platform,
                      errors=(401, 403, 404, 422, 429)),
            Operation("exportTenant", "GET", f"{PREFIX}/tenant/export", "admin", "Export the token's tenant as JSON",
                      self.export, {200: (TenantExport,)},
                      description="Streamed; one consistent snapshot of every table of the tenant.",
                      errors=(401, 403, 429)),
        ]

    async def create(self, request: web.Request, token: ApiToken | None) -> web.StreamResponse:
        req = parse(CreateTenantRequest, await request.json())
        try:
            done = await tenant_admin.onboard(self.pool, slug=req.slug, name=req.name, admin_email=req.admin_email,
                                              admin_name=req.admin_name, base_url=self.base_url,
                                              actor="platform:api")
        except tenant_admin.OnboardingError as exc:
            raise FieldError(exc.field, str(exc), status=409 if exc.conflict else 422,
                             code="conflict" if exc.conflict else "invalid") from None
        return json_out(CreatedTenant(tenant_id=done.tenant.id, slug=done.tenant.slug, name=done.tenant.name,
                                      admin_agent_id=done.admin_agent_id, admin_email=done.admin_email,
                                      password_link=done.password_link,
                                      password_link_expires_at=done.link_expires_at), status=201)

    async def delete(self, request: web.Request, token: ApiToken | None) -> web.StreamResponse:
        slug = parse(TenantSlugPath, dict(request.match_info)).slug
        async with self.pool.connection() as conn:
            tenant = await tenants.by_slug(conn, slug)
        if tenant is None:
            raise FieldError("slug", f"no tenant {slug!r}", status=404, code="not_found")
        return json_out(DeletedTenant(slug=slug, deleted_rows=await tenant_admin.delete(self.pool, tenant)))

    async def export(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, token.tenant_id)
        assert tenant is not None  # its token exists, so it does
        resp = web.StreamResponse(headers={
            "Content-Type": "application/json",
            "Content-Disposition": f'attachment; filename="{tenant.slug}-export.json"'})
        await resp.prepare(request)
        async for chunk in tenant_admin.export_chunks(self.pool, tenant):
            await resp.write(chunk)
        await resp.write_eof()
        return resp
