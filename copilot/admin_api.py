"""The console's admin API: agents, tenant settings and SLA policies, for admins of one tenant.

Every handler requires an admin session (writes also the CSRF header) and every query carries the
admin's own tenant id, so another tenant's agent id is simply not found. Input is validated here,
before it reaches the store: bad input is a 422 naming the field (``categories[2]``,
``safety_rules[0].pattern``), never a database error turned into a 500.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any, NoReturn

from aiohttp import web
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from copilot.passwords import MIN_LENGTH, hash_password
from copilot.ports import Availability
from copilot.sessions import AgentSession
from store import agent_performance, agents, audit, sla, tenants

ROLES = ("agent", "lead", "admin")
URGENCIES = tuple(sla.DEFAULT_POLICIES)  # critical, high, medium, low
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
MAX_CATEGORIES = 30
MAX_SKILLS = 20
MAX_SAFETY_RULES = 50
MAX_PATTERN = 200
MAX_LOAD = 100
MAX_REOPEN_HOURS = 720
MAX_SLA_MINUTES = 365 * 24 * 60
MAX_SLA_ROWS = 100
THRESHOLDS = ("auto_resolve", "suggest", "retrieval_min")
SETTINGS_KEYS = ("categories", "thresholds", "safety_rules", "reopen_window_hours", "costs")
AGENT_FIELDS = ("name", "role", "skills", "max_load", "available")


def _invalid(field: str, message: str, status: int = 422, code: str = "invalid") -> NoReturn:
    """Raised as an HTTP exception with a JSON body: the gateway's error middleware passes it through as is."""
    exc = {422: web.HTTPUnprocessableEntity, 409: web.HTTPConflict, 404: web.HTTPNotFound}[status]
    raise exc(text=json.dumps({"error": {"code": code, "field": field, "message": message}}),
              content_type="application/json")


def _not_found() -> NoReturn:
    raise web.HTTPNotFound(text='{"error": {"code": "not_found", "message": "no such agent"}}',
                           content_type="application/json")


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        _invalid("Content-Type", "send application/json", code="json_required")
    try:
        data = await request.json()
    except ValueError:
        _invalid("body", "not valid JSON")
    if not isinstance(data, dict):
        _invalid("body", "must be a JSON object")
    return data


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        _invalid(field, f"a whole number from {lo} to {hi}")
    return value


def _str(value: Any, field: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        _invalid(field, "required text")
    if len(value) > max_len:
        _invalid(field, f"at most {max_len} characters", code="too_long")
    return value.strip()


def _slugs(value: Any, field: str, max_items: int, *, allow_empty: bool = True) -> list[str]:
    """Lower-case slugs, deduplicated in order: categories and skills are matched as exact strings."""
    if not isinstance(value, list) or len(value) > max_items:
        _invalid(field, f"a list of at most {max_items} slugs")
    out: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not SLUG.match(item.strip().lower()):
            _invalid(f"{field}[{i}]", "a slug: lower-case letters, digits, _ or -, at most 40 characters")
        slug = item.strip().lower()
        if slug not in out:
            out.append(slug)
    if not out and not allow_empty:
        _invalid(field, "at least one")
    return out


def _agent_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        _not_found()
    return int(raw)


def _agent_json(a: agents.Agent) -> dict[str, Any]:
    """No password hash, lockout counters or session version: only what an admin edits."""
    return {"id": a.id, "email": a.email, "name": a.name, "role": a.role, "skills": list(a.skills),
            "max_load": a.max_load, "available": a.available}


# -- settings validation ------------------------------------------------------------------------
def validate_settings(data: dict[str, Any], current: tenants.Tenant) -> dict[str, Any]:
    """The changes to write, each key checked; thresholds merge over the tenant's current ones."""
    unknown = [k for k in data if k not in SETTINGS_KEYS]
    if unknown:
        _invalid(unknown[0], f"not an editable setting (editable: {', '.join(SETTINGS_KEYS)})")
    if not data:
        _invalid("body", f"give at least one of {', '.join(SETTINGS_KEYS)}")
    changes: dict[str, Any] = {}
    if "categories" in data:
        changes["categories"] = _slugs(data["categories"], "categories", MAX_CATEGORIES, allow_empty=False)
    if "thresholds" in data:
        given = data["thresholds"]
        if not isinstance(given, dict):
            _invalid("thresholds", f"an object with {', '.join(THRESHOLDS)}")
        merged = {**(current.setting("thresholds") or {})}
        for key, value in given.items():
            if key not in THRESHOLDS:
                _invalid(f"thresholds.{key}", f"unknown threshold (known: {', '.join(THRESHOLDS)})")
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
                _invalid(f"thresholds.{key}", "a number from 0 to 1")
            merged[key] = float(value)
        if float(merged.get("suggest", 0.0)) > float(merged.get("auto_resolve", 1.0)):
            _invalid("thresholds.suggest", "must not be above auto_resolve (a draft needs less confidence)")
        changes["thresholds"] = merged
    if "safety_rules" in data:
        changes["safety_rules"] = _safety_rules(data["safety_rules"])
    if "reopen_window_hours" in data:
        changes["reopen_window_hours"] = _int(data["reopen_window_hours"], "reopen_window_hours", 0,
                                              MAX_REOPEN_HOURS)
    if "costs" in data:  # cost-per-resolution inputs, merged over the current ones
        given = data["costs"]
        if not isinstance(given, dict):
            _invalid("costs", "an object with agent_hour and/or ai_run")
        try:
            changes["costs"] = agent_performance.cost_inputs({"costs": {**(current.settings.get("costs") or {}),
                                                                        **given}})
        except ValueError as exc:
            where, _, message = str(exc).partition(": ")
            _invalid(where, message)
    return changes


def _safety_rules(value: Any) -> list[dict[str, str]]:
    """Patterns must compile as the safety node compiles them (``re.search(..., re.IGNORECASE)``)."""
    if not isinstance(value, list) or len(value) > MAX_SAFETY_RULES:
        _invalid("safety_rules", f"a list of at most {MAX_SAFETY_RULES} rules")
    rules: list[dict[str, str]] = []
    for i, rule in enumerate(value):
        at = f"safety_rules[{i}]"
        if not isinstance(rule, dict):
            _invalid(at, "an object with name, pattern and action")
        name = _str(rule.get("name"), f"{at}.name", 80)
        pattern = rule.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            _invalid(f"{at}.pattern", "required regular expression")
        if len(pattern) > MAX_PATTERN:
            _invalid(f"{at}.pattern", f"at most {MAX_PATTERN} characters", code="too_long")
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            _invalid(f"{at}.pattern", f"not a valid regular expression: {exc}")
        action = rule.get("action")
        if action not in ("critical", "handoff"):
            _invalid(f"{at}.action", "critical or handoff")
        rules.append({"name": name, "pattern": pattern, "action": str(action)})
    return rules


def _sla_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = data.get("policies")
    if not isinstance(rows, list) or not rows or len(rows) > MAX_SLA_ROWS:
        _invalid("policies", f"a list of 1 to {MAX_SLA_ROWS} policies")
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        at = f"policies[{i}]"
        if not isinstance(row, dict):
            _invalid(at, "an object with urgency, tier, first_response_minutes, resolution_minutes")
        urgency = sla.normalize_urgency(row.get("urgency")) if isinstance(row.get("urgency"), str) else None
        if urgency not in (*URGENCIES, sla.ANY_URGENCY):  # "any": the tier's promise for every urgency
            _invalid(f"{at}.urgency", f"one of {', '.join(URGENCIES)} or {sla.ANY_URGENCY}")
        tier = row.get("tier", sla.DEFAULT_TIER)
        if not isinstance(tier, str) or not SLUG.match(tier):
            _invalid(f"{at}.tier", "a slug: lower-case letters, digits, _ or -")
        first = _int(row.get("first_response_minutes"), f"{at}.first_response_minutes", 1, MAX_SLA_MINUTES)
        resolution = _int(row.get("resolution_minutes"), f"{at}.resolution_minutes", 1, MAX_SLA_MINUTES)
        if resolution < first:
            _invalid(f"{at}.resolution_minutes", "must not be shorter than the first response target")
        business_hours = row.get("business_hours", False)
        if not isinstance(business_hours, bool):
            _invalid(f"{at}.business_hours", "true or false")
        if (urgency, tier) in seen:
            _invalid(at, f"{urgency} × {tier} is listed twice")
        seen.add((urgency, tier))
        out.append({"urgency": urgency, "tier": tier, "first_response_minutes": first,
                    "resolution_minutes": resolution, "business_hours": business_hours})
    return out


def _policy_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"urgency": row["urgency"], "tier": row["tier"], "first_response_minutes": row["first_response_minutes"],
            "resolution_minutes": row["resolution_minutes"], "business_hours": row["business_hours"]}


class AdminApi:
    """Mounted by the gateway next to ``ConsoleApi``; ``availability`` is its router (re-queues on going away)."""

    def __init__(self, pool: AsyncConnectionPool, auth: Auth, availability: Availability | None = None) -> None:
        self.pool = pool
        self.auth = auth
        self.availability = availability

    def routes(self) -> list[web.RouteDef]:
        p = "/console/api/admin"
        return [
            web.get(f"{p}/agents", self.list_agents),
            web.post(f"{p}/agents", self.create_agent),
            web.patch(f"{p}/agents/{{id}}", self.patch_agent),
            web.get(f"{p}/settings", self.get_settings),
            web.patch(f"{p}/settings", self.patch_settings),
            web.get(f"{p}/sla-policies", self.get_sla),
            web.put(f"{p}/sla-policies", self.put_sla),
        ]

    # -- agents -----------------------------------------------------------------------------------
    async def list_agents(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            people = await agents.list_all(conn, s.tenant_id)
        return web.json_response({"agents": [_agent_json(a) for a in people]})

    async def create_agent(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        data = await _json_object(request)
        email = _str(data.get("email"), "email", 320).lower()
        if not EMAIL.match(email):
            _invalid("email", "an email address")
        name = _str(data.get("name"), "name", 100)
        role = data.get("role", "agent")
        if role not in ROLES:
            _invalid("role", f"one of {', '.join(ROLES)}")
        skills = _slugs(data.get("skills", []), "skills", MAX_SKILLS)
        max_load = _int(data.get("max_load", 5), "max_load", 0, MAX_LOAD)
        password = data.get("password")
        if not isinstance(password, str) or len(password) < MIN_LENGTH:
            _invalid("password", f"at least {MIN_LENGTH} characters")
        if len(password) > 1024:
            _invalid("password", "at most 1024 characters", code="too_long")
        # argon2 is deliberately slow and memory-hard: keep it off the event loop.
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self.pool.connection() as conn, conn.transaction():
            try:
                async with conn.transaction():
                    agent = await agents.create(conn, s.tenant_id, email=email, name=name, role=str(role),
                                                skills=tuple(skills), max_load=max_load,
                                                password_hash=password_hash)
            except pg_errors.UniqueViolation:
                # Emails are unique across tenants (login looks them up without one); say only "taken".
                _invalid("email", "already in use", status=409, code="conflict")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="agent.created",
                               subject_type="agent", subject_id=agent.id,
                               details={"email": email, "role": role, "skills": skills, "max_load": max_load})
        return web.json_response({"agent": _agent_json(agent)}, status=201)

    async def patch_agent(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        agent_id = _agent_id(request)
        data = await _json_object(request)
        changes = self._agent_changes(data, s, agent_id)
        available = changes.pop("available", None)
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT id FROM agents WHERE tenant_id = %s AND id = %s FOR UPDATE",
                                     (s.tenant_id, agent_id))
            if await cur.fetchone() is None:
                _not_found()
            if changes:
                cols = ", ".join(f"{k} = %s" for k in changes)  # keys come from AGENT_FIELDS only
                await conn.execute(f"UPDATE agents SET {cols} WHERE tenant_id = %s AND id = %s",
                                   (*changes.values(), s.tenant_id, agent_id))
            requeued: list[int] = []
            if available is not None:
                requeued = await self._set_available(conn, s, agent_id, available)
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="agent.updated",
                               subject_type="agent", subject_id=agent_id,
                               details={**changes, **({"available": available} if available is not None else {}),
                                        "requeued": requeued})
            agent = await agents.get(conn, s.tenant_id, agent_id)
        assert agent is not None
        return web.json_response({"agent": _agent_json(agent), "requeued": requeued})

    @staticmethod
    def _agent_changes(data: dict[str, Any], s: AgentSession, agent_id: int) -> dict[str, Any]:
        unknown = [k for k in data if k not in AGENT_FIELDS]
        if unknown:
            _invalid(unknown[0], f"not editable (editable: {', '.join(AGENT_FIELDS)})")
        if not data:
            _invalid("body", f"give at least one of {', '.join(AGENT_FIELDS)}")
        changes: dict[str, Any] = {}
        if "name" in data:
            changes["name"] = _str(data["name"], "name", 100)
        if "role" in data:
            if data["role"] not in ROLES:
                _invalid("role", f"one of {', '.join(ROLES)}")
            if agent_id == s.agent_id and data["role"] != "admin":
                _invalid("role", "you cannot remove your own admin role (ask another admin)")
            changes["role"] = data["role"]
        if "skills" in data:
            changes["skills"] = _slugs(data["skills"], "skills", MAX_SKILLS)
        if "max_load" in data:
            changes["max_load"] = _int(data["max_load"], "max_load", 0, MAX_LOAD)
        if "available" in data:
            if not isinstance(data["available"], bool):
                _invalid("available", "true or false")
            changes["available"] = data["available"]
        return changes

    async def _set_available(self, conn: Any, s: AgentSession, agent_id: int, available: bool) -> list[int]:
        """Through the gateway's router when wired (going away re-queues open conversations), else the flag only."""
        if self.availability is not None:
            return await self.availability.set_availability(conn, s.tenant_id, agent_id, available,
                                                            actor=f"agent:{s.agent_id}")
        await conn.execute("UPDATE agents SET available = %s WHERE tenant_id = %s AND id = %s",
                           (available, s.tenant_id, agent_id))
        return []

    # -- tenant settings --------------------------------------------------------------------------
    async def get_settings(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, s.tenant_id)
        assert tenant is not None
        return web.json_response({"settings": {k: tenant.setting(k) for k in SETTINGS_KEYS}})

    async def patch_settings(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        data = await _json_object(request)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (s.tenant_id,))
            current = await tenants.get(conn, s.tenant_id)
            assert current is not None
            changes = validate_settings(data, current)
            before = {k: current.setting(k) for k in changes}
            tenant = await tenants.update_settings(conn, s.tenant_id, changes)
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="settings.updated",
                               subject_type="tenant", subject_id=s.tenant_id,
                               details={"before": before, "after": changes})
        return web.json_response({"settings": {k: tenant.setting(k) for k in SETTINGS_KEYS}})

    # -- SLA policies -----------------------------------------------------------------------------
    async def get_sla(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            rows = await sla.policies(conn, s.tenant_id)
        return web.json_response({"policies": [_policy_json(r) for r in rows], "urgencies": list(URGENCIES)})

    async def put_sla(self, request: web.Request) -> web.Response:
        """Replaces the tenant's whole table: rows not sent are removed (their urgency falls back to defaults)."""
        s = await self.auth.require(request, write=True, admin=True)
        rows = _sla_rows(await _json_object(request))
        async with self.pool.connection() as conn, conn.transaction():
            before = [_policy_json(r) for r in await sla.policies(conn, s.tenant_id)]
            keep_u = [r["urgency"] for r in rows]
            keep_t = [r["tier"] for r in rows]
            await conn.execute(
                "DELETE FROM sla_policies WHERE tenant_id = %s AND (urgency, tier) NOT IN"
                " (SELECT * FROM unnest(%s::text[], %s::text[]))", (s.tenant_id, keep_u, keep_t))
            for r in rows:
                await sla.set_policy(conn, s.tenant_id, r["urgency"], tier=r["tier"],
                                     first_response_minutes=r["first_response_minutes"],
                                     resolution_minutes=r["resolution_minutes"], business_hours=r["business_hours"])
            after = [_policy_json(r) for r in await sla.policies(conn, s.tenant_id)]
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="sla_policies.replaced",
                               subject_type="tenant", subject_id=s.tenant_id, details={"before": before, "after": after})
        return web.json_response({"policies": after, "urgencies": list(URGENCIES)})
