"""HTTP for teams, escalation paths and the internal Slack channel.

Admins manage teams, paths and the internal channel; team leads read their own team's report (admins
any team's); any agent may escalate a conversation along a path. Every query carries the caller's
tenant, so another tenant's agent, team or path id is simply "no such …".
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from gateway.http_errors import FieldError
from gateway.ops.escalations import fire
from gateway.ops.http import _json, parse_days
from gateway.ops.routing import SkillRouter
from store import audit, escalation_paths, internal_slack, teams, tenants
from store.conversations import NotFound
from store.customer_attributes import storable

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")
MAX_MEMBERS = 200
MAX_SKILLS = 20
MAX_NOTE = 2000
TEAM_FIELDS = ("slug", "name", "lead_id", "member_ids", "skills")
PATH_FIELDS = ("kind", "name", "owner", "response_minutes", "template")
SLACK_FIELDS = ("team_id", "channel_id")


def _id(request: web.Request, what: str) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise FieldError("id", f"no such {what}", status=404, code="not_found")
    return int(raw)


def _text(value: Any, field: str, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FieldError(field, "required text")
    if len(value) > max_len:
        raise FieldError(field, f"at most {max_len} characters", code="too_long")
    if not storable(value):
        raise FieldError(field, "text without NUL characters")
    return value.strip()


def _slug(value: Any, field: str) -> str:
    if not isinstance(value, str) or not SLUG.match(value.strip().lower()):
        raise FieldError(field, "a slug: lower-case letters, digits, _ or -, at most 40 characters")
    return value.strip().lower()


def _int(value: Any, field: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise FieldError(field, f"a whole number from {lo} to {hi}")
    return value


def _ids(value: Any, field: str) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_MEMBERS:
        raise FieldError(field, f"a list of at most {MAX_MEMBERS} agent ids")
    for i, item in enumerate(value):
        _int(item, f"{field}[{i}]", 1, 10**18)
    return list(dict.fromkeys(value))


def _unknown(data: dict[str, Any], known: tuple[str, ...]) -> None:
    extra = [k for k in data if k not in known]
    if extra:
        raise FieldError(extra[0], f"unknown field (known: {', '.join(known)})")
    if not data:
        raise FieldError("body", f"give at least one of {', '.join(known)}")


async def _agents_exist(conn: Any, tenant_id: int, ids: list[int], field: str) -> None:
    cur = await conn.execute("SELECT id FROM agents WHERE tenant_id = %s AND id = ANY(%s)", (tenant_id, ids))
    found = {int(r["id"]) for r in await cur.fetchall()}
    for i, agent_id in enumerate(ids):
        if agent_id not in found:
            raise FieldError(f"{field}[{i}]" if field.endswith("ids") else field, "no such agent")


class TeamsHttp:
    def __init__(self, pool: AsyncConnectionPool, auth: Auth, router: SkillRouter, base_url: str) -> None:
        self.pool = pool
        self.auth = auth
        self.clock = router.clock
        self.base_url = base_url

    def routes(self) -> list[web.RouteDef]:
        a = "/console/api/admin"
        return [
            web.get(f"{a}/teams", self.list_teams),
            web.post(f"{a}/teams", self.create_team),
            web.patch(f"{a}/teams/{{id}}", self.patch_team),
            web.delete(f"{a}/teams/{{id}}", self.delete_team),
            web.get(f"{a}/escalation-paths", self.list_paths),
            web.post(f"{a}/escalation-paths", self.create_path),
            web.patch(f"{a}/escalation-paths/{{id}}", self.patch_path),
            web.delete(f"{a}/escalation-paths/{{id}}", self.delete_path),
            web.get(f"{a}/internal-slack", self.get_slack),
            web.put(f"{a}/internal-slack", self.put_slack),
            web.delete(f"{a}/internal-slack", self.delete_slack),
            web.get("/console/api/teams/{id}/report", self.team_report),
            web.get("/console/api/escalation-paths", self.paths_for_agents),
            web.post("/console/api/conversations/{id}/escalate", self.escalate),
        ]

    # -- teams ----------------------------------------------------------------------------------
    def _team_values(self, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        _unknown(data, TEAM_FIELDS)
        out: dict[str, Any] = {}
        if "slug" in data or not partial:
            out["slug"] = _slug(data.get("slug"), "slug")
        if "name" in data or not partial:
            out["name"] = _text(data.get("name"), "name", 100)
        if "lead_id" in data:
            out["lead_id"] = None if data["lead_id"] is None else _int(data["lead_id"], "lead_id", 1, 10**18)
        if "member_ids" in data:
            out["member_ids"] = _ids(data["member_ids"], "member_ids")
        if "skills" in data:
            skills = data["skills"]
            if not isinstance(skills, list) or len(skills) > MAX_SKILLS:
                raise FieldError("skills", f"a list of at most {MAX_SKILLS} slugs")
            out["skills"] = list(dict.fromkeys(_slug(s, f"skills[{i}]") for i, s in enumerate(skills)))
        return out

    async def list_teams(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            found = await teams.list_all(conn, s.tenant_id)
        return web.json_response({"teams": [t.as_json() for t in found]})

    async def create_team(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        v = self._team_values(await _json(request), partial=False)
        async with self.pool.connection() as conn, conn.transaction():
            await self._check_people(conn, s.tenant_id, v)
            try:
                async with conn.transaction():
                    team = await teams.create(conn, s.tenant_id, slug=v["slug"], name=v["name"],
                                              lead_id=v.get("lead_id"), skills=v.get("skills", []),
                                              member_ids=v.get("member_ids", []))
            except pg_errors.UniqueViolation:
                raise FieldError("slug", "already in use", status=409, code="conflict") from None
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="team.created",
                               subject_type="team", subject_id=team.id, details=team.as_json())
        return web.json_response({"team": team.as_json()}, status=201)

    async def patch_team(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        team_id = _id(request, "team")
        v = self._team_values(await _json(request), partial=True)
        async with self.pool.connection() as conn, conn.transaction():
            await self._check_people(conn, s.tenant_id, v)
            try:
                async with conn.transaction():
                    team = await teams.update(conn, s.tenant_id, team_id, dict(v))
            except pg_errors.UniqueViolation:
                raise FieldError("slug", "already in use", status=409, code="conflict") from None
            if team is None:
                raise FieldError("id", "no such team", status=404, code="not_found")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="team.updated",
                               subject_type="team", subject_id=team.id, details=v)
        return web.json_response({"team": team.as_json()})

    async def delete_team(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        team_id = _id(request, "team")
        async with self.pool.connection() as conn, conn.transaction():
            try:
                async with conn.transaction():
                    gone = await teams.delete(conn, s.tenant_id, team_id)
            except (pg_errors.ForeignKeyViolation, pg_errors.RestrictViolation):
                raise FieldError("id", "an escalation path is owned by this team; give it another owner first",
                                 status=409, code="conflict") from None
            if not gone:
                raise FieldError("id", "no such team", status=404, code="not_found")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="team.deleted",
                               subject_type="team", subject_id=team_id)
        return web.json_response({"ok": True})

    @staticmethod
    async def _check_people(conn: Any, tenant_id: int, v: dict[str, Any]) -> None:
        if v.get("lead_id") is not None:
            await _agents_exist(conn, tenant_id, [v["lead_id"]], "lead_id")
        if v.get("member_ids"):
            await _agents_exist(conn, tenant_id, v["member_ids"], "member_ids")

    async def team_report(self, request: web.Request) -> web.Response:
        """A lead sees their own team's report; admins see every team's."""
        s = await self.auth.require(request, lead=True)
        team_id = _id(request, "team")
        days = parse_days(request.query.get("days"), default=7)
        async with self.pool.connection() as conn:
            team = await teams.get(conn, s.tenant_id, team_id)
            if team is None or (not s.is_admin and team.lead_id != s.agent_id):
                raise FieldError("id", "no such team among those you lead", status=404, code="not_found")
            people = await teams.report(conn, s.tenant_id, team_id, days=days)
        return web.json_response({"team": team.as_json(), "days": days, "people": [
            {k: r[k] for k in ("id", "name", "role", "available", "max_load", "open", "resolved", "breaches")}
            for r in people]})

    # -- escalation paths ---------------------------------------------------------------------------
    def _path_values(self, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        _unknown(data, PATH_FIELDS)
        out: dict[str, Any] = {}
        if "kind" in data or not partial:
            out["kind"] = _slug(data.get("kind"), "kind")
        if "name" in data or not partial:
            out["name"] = _text(data.get("name"), "name", 100)
        if "owner" in data or not partial:
            owner = data.get("owner")
            if not isinstance(owner, dict) or len(owner) != 1 or next(iter(owner)) not in ("agent_id", "team_id"):
                raise FieldError("owner", 'exactly one of {"agent_id": …} or {"team_id": …}')
            key = next(iter(owner))
            out["owner_agent_id"] = _int(owner[key], f"owner.{key}", 1, 10**18) if key == "agent_id" else None
            out["owner_team_id"] = _int(owner[key], f"owner.{key}", 1, 10**18) if key == "team_id" else None
        if "response_minutes" in data or not partial:
            out["response_minutes"] = _int(data.get("response_minutes"), "response_minutes", 1, 525600)
        if "template" in data or not partial:
            template = _text(data.get("template"), "template", 2000)
            problem = escalation_paths.template_problem(template)
            if problem:
                raise FieldError("template", problem)
            out["template"] = template
        return out

    @staticmethod
    async def _check_owner(conn: Any, tenant_id: int, v: dict[str, Any]) -> None:
        if v.get("owner_agent_id") is not None:
            await _agents_exist(conn, tenant_id, [v["owner_agent_id"]], "owner.agent_id")
        if v.get("owner_team_id") is not None and await teams.get(conn, tenant_id, v["owner_team_id"]) is None:
            raise FieldError("owner.team_id", "no such team")

    async def list_paths(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            found = await escalation_paths.list_all(conn, s.tenant_id)
        return web.json_response({"paths": [p.as_json() for p in found],
                                  "placeholders": list(escalation_paths.PLACEHOLDERS)})

    async def paths_for_agents(self, request: web.Request) -> web.Response:
        """What the console's escalate control offers (kinds and names, not templates)."""
        s = await self.auth.require(request)
        async with self.pool.connection() as conn:
            found = await escalation_paths.list_all(conn, s.tenant_id)
        return web.json_response({"paths": [{"kind": p.kind, "name": p.name, "response_minutes": p.response_minutes}
                                            for p in found]})

    async def create_path(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        v = self._path_values(await _json(request), partial=False)
        async with self.pool.connection() as conn, conn.transaction():
            await self._check_owner(conn, s.tenant_id, v)
            try:
                async with conn.transaction():
                    path = await escalation_paths.create(conn, s.tenant_id, v)
            except pg_errors.UniqueViolation:
                raise FieldError("kind", "this kind already has a path", status=409, code="conflict") from None
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="escalation_path.created",
                               subject_type="escalation_path", subject_id=path.id, details=path.as_json())
        return web.json_response({"path": path.as_json()}, status=201)

    async def patch_path(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        path_id = _id(request, "escalation path")
        v = self._path_values(await _json(request), partial=True)
        async with self.pool.connection() as conn, conn.transaction():
            await self._check_owner(conn, s.tenant_id, v)
            try:
                async with conn.transaction():
                    path = await escalation_paths.update(conn, s.tenant_id, path_id, v)
            except pg_errors.UniqueViolation:
                raise FieldError("kind", "this kind already has a path", status=409, code="conflict") from None
            if path is None:
                raise FieldError("id", "no such escalation path", status=404, code="not_found")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="escalation_path.updated",
                               subject_type="escalation_path", subject_id=path.id, details=v)
        return web.json_response({"path": path.as_json()})

    async def delete_path(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        path_id = _id(request, "escalation path")
        async with self.pool.connection() as conn, conn.transaction():
            if not await escalation_paths.delete(conn, s.tenant_id, path_id):
                raise FieldError("id", "no such escalation path", status=404, code="not_found")
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="escalation_path.deleted",
                               subject_type="escalation_path", subject_id=path_id)
        return web.json_response({"ok": True})

    async def escalate(self, request: web.Request) -> web.Response:
        """Any agent: ``{"kind": "security_incident", "note": "…"}``; asking twice in one episode fires once."""
        s = await self.auth.require(request, write=True)
        cid = _id(request, "conversation")
        data = await _json(request)
        _unknown(data, ("kind", "note"))
        kind = _slug(data.get("kind"), "kind")
        note = _text(data["note"], "note", MAX_NOTE) if data.get("note") is not None else ""
        async with self.pool.connection() as conn, conn.transaction():
            path = await escalation_paths.by_kind(conn, s.tenant_id, kind)
            if path is None:
                raise FieldError("kind", "no escalation path of this kind")
            try:
                row = await fire(conn, s.tenant_id, cid, path, actor=f"agent:{s.agent_id}", note=note,
                                 now=self.clock(), base_url=self.base_url)
            except NotFound:
                raise FieldError("id", "no such conversation", status=404, code="not_found") from None
            found = await escalation_paths.for_conversation(conn, s.tenant_id, cid)
        return web.json_response({"fired": row is not None, "escalations": [
            {**r, "respond_by": r["respond_by"].isoformat(), "created_at": r["created_at"].isoformat()}
            for r in found]}, status=201 if row else 200)

    # -- internal Slack channel ---------------------------------------------------------------------
    async def get_slack(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, admin=True)
        async with self.pool.connection() as conn:
            config = await internal_slack.get(conn, s.tenant_id)
        return web.json_response({"internal_slack": config.as_json() if config else None})

    async def put_slack(self, request: web.Request) -> web.Response:
        """Team and channel only: the secrets' variable names follow the tenant's slug, and the API base URL
        is the operator's to set (``store.internal_slack.put``), so no admin can aim a token elsewhere."""
        s = await self.auth.require(request, write=True, admin=True)
        data = await _json(request)
        _unknown(data, SLACK_FIELDS)
        for field in SLACK_FIELDS:
            if not isinstance(data.get(field), str) or not SLACK_ID.match(data[field]):
                raise FieldError(field, "a Slack id: upper-case letters and digits")
        async with self.pool.connection() as conn, conn.transaction():
            tenant = await tenants.get(conn, s.tenant_id)
            assert tenant is not None
            token_env, secret_env = internal_slack.env_names(tenant.slug)
            try:
                async with conn.transaction():
                    config = await internal_slack.put(conn, s.tenant_id, team_id=data["team_id"],
                                                      channel_id=data["channel_id"], bot_token_env=token_env,
                                                      signing_secret_env=secret_env)
            except pg_errors.UniqueViolation:
                raise FieldError("channel_id", "this channel is another tenant's internal channel", status=409,
                                 code="conflict") from None
            await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="internal_slack.set",
                               subject_type="tenant", subject_id=s.tenant_id, details=config.as_json())
        return web.json_response({"internal_slack": config.as_json()})

    async def delete_slack(self, request: web.Request) -> web.Response:
        s = await self.auth.require(request, write=True, admin=True)
        async with self.pool.connection() as conn, conn.transaction():
            gone = await internal_slack.delete(conn, s.tenant_id)
            if gone:
                await audit.record(conn, s.tenant_id, actor=f"agent:{s.agent_id}", action="internal_slack.removed",
                                   subject_type="tenant", subject_id=s.tenant_id)
        return web.json_response({"ok": True, "removed": gone})

