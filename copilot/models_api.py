"""The admins' classifier versions: each with its held-back accuracy, when it went live, which serves,
a rollback, an on-demand retrain and the retrain schedule (page ``/console/models``).

A retrain is queued, not run here: it embeds and fits for seconds, which is a worker's job, and the
job queue keeps one pending retrain per tenant however often the button is pressed.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.retrain import RETRAIN, enqueue_retrain, rollback, schedule_setting
from copilot.auth import Auth
from copilot.console import SECURITY_HEADERS, WEB
from store import audit, classifiers, tenants

PREFIX = "/console/api/admin/models"
MAX_EVERY_DAYS = 90
MAX_MIN_NEW_LABELS = 100_000


def _fail(status: int, code: str, message: str, field: str | None = None) -> NoReturn:
    err: dict[str, Any] = {"code": code, "message": message, **({"field": field} if field else {})}
    exc = {409: web.HTTPConflict, 415: web.HTTPUnsupportedMediaType, 422: web.HTTPUnprocessableEntity}[status]
    raise exc(text=json.dumps({"error": err}), content_type="application/json")


def version_json(v: classifiers.ModelVersion) -> dict[str, Any]:
    """Accuracy is the held-back one for retrained versions; a version trained from admin examples only
    has a cross-validated accuracy on those examples (labelled as such: the two are not comparable)."""
    m = v.metrics or {}
    return {"version": v.version, "source": v.source, "serving": v.active,
            "holdout_accuracy": m.get("holdout_accuracy"), "compared_with": m.get("compared_with"),
            "compared_accuracy": m.get("current_accuracy"), "cv_accuracy": m.get("cv_accuracy"),
            "holdout": m.get("holdout"), "examples": m.get("examples"), "decision": m.get("decision"),
            "reason": m.get("reason"), "created_at": v.created_at.isoformat(),
            "went_live_at": v.promoted_at.isoformat() if v.promoted_at else None}


def _count(data: dict[str, Any], key: str, hi: int) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
        _fail(422, "invalid", f"a whole number from 0 to {hi}", key)
    return value


class ModelsApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth) -> None:
        self.pool = pool
        self.auth = auth

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/models", self.page), web.get(PREFIX, self.list),
                web.post(f"{PREFIX}/retrain", self.retrain), web.post(f"{PREFIX}/rollback", self.rollback),
                web.patch(f"{PREFIX}/schedule", self.schedule)]

    async def page(self, request: web.Request) -> web.StreamResponse:
        if await self.auth.current(request) is None:
            raise web.HTTPSeeOther("/console/login")
        return web.FileResponse(WEB / "models.html", headers=SECURITY_HEADERS)

    async def _state(self, tenant_id: int) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, tenant_id)
            listed = await classifiers.versions(conn, tenant_id)
            cur = await conn.execute("SELECT status FROM jobs WHERE tenant_id = %s AND kind = %s ORDER BY id DESC"
                                     " LIMIT 1", (tenant_id, RETRAIN))
            job = await cur.fetchone()
        assert tenant is not None
        return {"versions": [version_json(v) for v in listed[:100]],
                "serving": next((v.version for v in listed if v.active), None),
                "schedule": schedule_setting(tenant.settings), "retrain_job": job["status"] if job else None}

    async def list(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        return web.json_response(await self._state(s.tenant_id))

    async def retrain(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        async with self.pool.connection() as conn, conn.transaction():
            job_id = await enqueue_retrain(conn, s.tenant_id)
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="classifier.retrain_requested",
                               subject_type="tenant", subject_id=s.tenant_id, details={"job_id": job_id})
        return web.json_response({"queued": job_id is not None, **await self._state(s.tenant_id)}, status=202)

    async def rollback(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        try:
            serving = await rollback(self.pool, s.tenant_id)
        except LookupError as exc:
            _fail(409, "nothing_to_roll_back", str(exc))
        async with self.pool.connection() as conn:
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="classifier.rolled_back",
                               subject_type="tenant", subject_id=s.tenant_id, details={"serving": serving})
        return web.json_response(await self._state(s.tenant_id))

    async def schedule(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        if request.content_type != "application/json":
            _fail(415, "json_required", "send application/json", "Content-Type")
        try:
            data = await request.json()
        except ValueError:
            _fail(422, "invalid", "not valid JSON", "body")
        if not isinstance(data, dict) or not data:
            _fail(422, "invalid", "an object with every_days and/or min_new_labels", "body")
        unknown = [k for k in data if k not in ("every_days", "min_new_labels")]
        if unknown:
            _fail(422, "invalid", "not a schedule field (every_days, min_new_labels)", unknown[0])
        changes = {k: _count(data, k, MAX_EVERY_DAYS if k == "every_days" else MAX_MIN_NEW_LABELS) for k in data}
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (s.tenant_id,))
            tenant = await tenants.get(conn, s.tenant_id)
            assert tenant is not None
            merged = {**schedule_setting(tenant.settings), **changes}
            await tenants.update_settings(conn, s.tenant_id, {"retrain_schedule": merged})
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="settings.updated",
                               subject_type="tenant", subject_id=s.tenant_id, details={"retrain_schedule": merged})
        return web.json_response(await self._state(s.tenant_id))
