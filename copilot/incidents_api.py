"""The console's incident API: what many customers report at once, and one reply that answers them all.

Answering an incident goes through the same reply path as a single agent reply (formatter → message
→ outbox, per conversation, on each conversation's own channel), in one transaction: either every
open member gets the answer or none does, so an agent never has to work out who was missed.
Conversations already resolved or closed are skipped (the customer was answered some other way).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from copilot.console import SECURITY_HEADERS, WEB
from copilot.ports import ReplyPath
from store import audit, conversations, incidents, tenants
from store.conversations import OPEN_STATUSES
from store.models import AuthorKind, ConversationStatus, Reply, ReplyKind

PREFIX = "/console/api/incidents"
MAX_REPLY_CHARS = 20_000
STATUSES = ("open", "resolved")
SETTINGS_PATH = "/console/api/admin/incident-settings"
# field: (type, low, high); notice is text of 1..NOTICE_CHARS characters
SETTING_LIMITS: dict[str, tuple[type, float, float]] = {
    "min_reports": (int, 2, 100), "window_minutes": (int, 1, 1440), "similarity": (float, 0.5, 0.99)}
NOTICE_CHARS = 1000


def _fail(status: int, code: str, message: str, field: str | None = None) -> NoReturn:
    err: dict[str, Any] = {"code": code, "message": message}
    if field:
        err["field"] = field
    exc = {404: web.HTTPNotFound, 409: web.HTTPConflict, 415: web.HTTPUnsupportedMediaType,
           422: web.HTTPUnprocessableEntity}[status]
    raise exc(text=json.dumps({"error": err}), content_type="application/json")


def _incident_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        _fail(404, "not_found", "no such incident")
    return int(raw)


def incident_json(i: incidents.Incident) -> dict[str, Any]:
    return {"id": i.id, "status": i.status, "title": i.title, "customers": i.customers,
            "created_at": i.created_at.isoformat(), "last_report_at": i.last_report_at.isoformat(),
            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None}


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        _fail(415, "json_required", "send application/json", "Content-Type")
    try:
        data = await request.json()
    except ValueError:
        _fail(422, "invalid", "not valid JSON", "body")
    if not isinstance(data, dict):
        _fail(422, "invalid", "must be a JSON object", "body")
    return data


def incident_settings(tenant: tenants.Tenant | None) -> dict[str, Any]:
    return {**incidents.INCIDENT_DEFAULTS, **((tenant.settings.get("incidents") or {}) if tenant else {})}


def validate_settings(data: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The tenant's incident settings with the given fields changed, each one checked."""
    merged = dict(current)
    for key, value in data.items():
        if key == "enabled":
            if not isinstance(value, bool):
                _fail(422, "invalid", "true or false", key)
        elif key == "notice":
            if not isinstance(value, str) or not value.strip() or len(value) > NOTICE_CHARS:
                _fail(422, "invalid", f"text of 1 to {NOTICE_CHARS} characters", key)
            value = value.strip()
        elif key in SETTING_LIMITS:
            kind, lo, hi = SETTING_LIMITS[key]
            ok_type = isinstance(value, int | float) if kind is float else isinstance(value, int)
            if isinstance(value, bool) or not ok_type or not lo <= value <= hi:
                _fail(422, "invalid", f"a {'number' if kind is float else 'whole number'} from {lo:g} to {hi:g}", key)
        else:
            _fail(422, "invalid", f"unknown setting (known: {', '.join(incidents.INCIDENT_DEFAULTS)})", key)
        merged[key] = value
    return merged


async def _reply_text(request: web.Request) -> str:
    data = await _json_object(request)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        _fail(422, "invalid", "required text", "text")
    if len(text) > MAX_REPLY_CHARS:
        _fail(422, "too_long", f"at most {MAX_REPLY_CHARS} characters", "text")
    return text


class IncidentsApi:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth, reply_path: ReplyPath, base_url: str) -> None:
        self.pool = pool
        self.auth = auth
        self.reply_path = reply_path
        self.base_url = base_url

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/insights", self.page), web.get(PREFIX, self.list),
                web.get(f"{PREFIX}/{{id}}", self.get), web.post(f"{PREFIX}/{{id}}/reply", self.reply),
                web.post(f"{PREFIX}/{{id}}/resolve", self.resolve),
                web.get(SETTINGS_PATH, self.get_settings), web.patch(SETTINGS_PATH, self.patch_settings)]

    async def get_settings(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            return web.json_response({"settings": incident_settings(await tenants.get(conn, s.tenant_id))})

    async def patch_settings(self, request: web.Request) -> web.Response:
        """Changes the thresholds (and notice text) incident detection uses for this tenant."""
        s = await self.auth.require(request, write=True, admin=True)
        data = await _json_object(request)
        async with self.pool.connection() as conn, conn.transaction():
            merged = validate_settings(data, incident_settings(await tenants.get(conn, s.tenant_id)))
            await tenants.update_settings(conn, s.tenant_id, {"incidents": merged})
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="settings.incidents.updated",
                               subject_type="tenant", subject_id=s.tenant_id, details=data)
        return web.json_response({"settings": merged})

    async def page(self, request: web.Request) -> web.StreamResponse:
        """Incidents and KB gaps, one console page of its own."""
        if await self.auth.current(request) is None:
            raise web.HTTPSeeOther("/console/login")
        return web.FileResponse(WEB / "insights.html", headers=SECURITY_HEADERS)

    async def list(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        status = request.query.get("status")
        if status is not None and status not in STATUSES:
            _fail(422, "invalid", f"one of {', '.join(STATUSES)}", "status")
        async with self.pool.connection() as conn:
            found = await incidents.list_recent(conn, s.tenant_id, status=status)
        return web.json_response({"incidents": [incident_json(i) for i in found]})

    async def get(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request)
        iid = _incident_id(request)
        async with self.pool.connection() as conn:
            incident = await incidents.get(conn, s.tenant_id, iid)
            if incident is None:
                _fail(404, "not_found", "no such incident")
            members = await incidents.members(conn, s.tenant_id, iid)
        return web.json_response({"incident": incident_json(incident), "conversations": [
            {"id": m["conversation_id"], "status": m["status"], "channel": m["last_channel"],
             "customer": m["customer"], "report": m["report"], "joined_at": m["joined_at"].isoformat(),
             "notified_at": m["notified_at"].isoformat() if m["notified_at"] else None} for m in members]})

    async def reply(self, request: web.Request) -> web.Response:
        """One agent answer to every open member conversation, each on its own channel."""
        s = await self.auth.require(request, write=True)
        iid = _incident_id(request)
        text = await _reply_text(request)
        actor = f"agent:{s.agent_id}"
        sent: list[dict[str, Any]] = []
        skipped: list[int] = []
        async with self.pool.connection() as conn, conn.transaction():
            if await incidents.get(conn, s.tenant_id, iid) is None:
                _fail(404, "not_found", "no such incident")
            for m in await incidents.members(conn, s.tenant_id, iid):  # oldest first; ids lock in a stable order
                conv = await conversations.get(conn, s.tenant_id, m["conversation_id"], lock=True)
                if conv.status not in OPEN_STATUSES:
                    skipped.append(conv.id)
                    continue
                if conv.assignee_id != s.agent_id:  # as with a single reply, answering takes it over
                    await conversations.assign(conn, s.tenant_id, conv.id, s.agent_id, actor=actor)
                cur = await conn.execute(
                    "SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = %s AND direction = 'in'"
                    " ORDER BY seq DESC LIMIT 1", (s.tenant_id, conv.id))
                last_in = await cur.fetchone()
                msg = await self.reply_path(conn, s.tenant_id, conv.id, Reply(ReplyKind.ANSWER, text),
                                            author_kind=AuthorKind.AGENT, author_id=s.agent_id,
                                            answers_message_id=last_in["id"] if last_in else None,
                                            base_url=self.base_url)
                await conversations.transition(conn, s.tenant_id, conv.id, ConversationStatus.WAITING_CUSTOMER,
                                               actor=actor, reason="agent answered the incident")
                sent.append({"conversation_id": conv.id, "message_id": msg.id, "channel": msg.channel.value})
            await audit.record(conn, s.tenant_id, actor=actor, action="incident.answered", subject_type="incident",
                               subject_id=iid, details={"sent": len(sent), "skipped": skipped})
        return web.json_response({"ok": True, "sent": sent, "skipped": skipped})

    async def resolve(self, request: web.Request) -> web.Response:
        """Closes the incident: new similar messages no longer get the known-issue notice."""
        s = await self.auth.require(request, write=True)
        iid = _incident_id(request)
        async with self.pool.connection() as conn, conn.transaction():
            incident = await incidents.get(conn, s.tenant_id, iid)
            if incident is None:
                _fail(404, "not_found", "no such incident")
            if not await incidents.resolve(conn, s.tenant_id, iid):
                _fail(409, "conflict", "the incident is already resolved", "status")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="incident.resolved",
                               subject_type="incident", subject_id=iid, details={})
        return web.json_response({"ok": True, "status": "resolved"})
