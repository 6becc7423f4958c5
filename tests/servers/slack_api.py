"""A local stand-in for Slack's Web API at its HTTP boundary, speaking its documented responses.

Slack cannot be reached from the test machines, so ``AsyncWebClient(base_url=…)`` points here. It
answers ``users.info`` and ``chat.postMessage`` the way slack.com does (HTTP 200 with ``{"ok": true,
…}``, HTTP 200 with ``{"ok": false, "error": …}``, HTTP 429 with ``Retry-After``), and records every
call so tests can assert what was sent, where, and how often.

Files, as Slack serves them: ``add_file`` hosts bytes at a ``url_private`` (``/files-pri/…``) that
answers only with a Bearer token (without one, Slack's sign-in page: HTTP 200 ``text/html``), and
returns the file object a message event carries. Uploads follow the external-upload flow
slack-sdk's ``files_upload_v2`` drives: ``files.getUploadURLExternal`` (filename, length) →
``{"upload_url", "file_id"}``; the bytes POSTed to ``upload_url`` (``/upload/v1/…``) → HTTP 200
``OK - <length>``; ``files.completeUploadExternal`` (``files`` JSON, ``channel_id``, ``thread_ts``,
``initial_comment``) → ``{"ok": true, "files": […]}``. Only completed uploads are shared, and
``uploads`` records each one with where it went.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.servers.procs import free_port


@dataclass
class Call:
    method: str
    token: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HostedFile:
    id: str
    name: str
    mimetype: str
    content: bytes
    chunked: bool = False  # served without Content-Length, so only the bytes themselves tell the size


@dataclass
class Upload:
    """One file of the external-upload flow; ``channel_id``/``thread_ts`` are set once it is completed."""

    file_id: str
    filename: str
    length: int
    token: str
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None


SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to your workspace</body></html>"


class SlackApiStandIn:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.files: dict[str, HostedFile] = {}  # file id → what its url_private serves
        self.downloads: list[Call] = []  # GETs of url_private (method "url_private", args {"file": id})
        self.started_uploads: dict[str, Upload] = {}  # file id → files.getUploadURLExternal's upload
        self.uploads: list[Upload] = []  # completed with files.completeUploadExternal, in order
        self.users: dict[str, dict[str, Any]] = {}  # user id → users.info "user" object
        self.scripts: dict[str, list[Scripted]] = {}  # method → responses to give before the normal one
        self.delays: dict[str, float] = {}  # method → seconds to wait before answering
        self.base_url = ""
        self._ts = 0

    def add_user(self, user_id: str, team_id: str, email: str | None, name: str = "Customer",
                 email_confirmed: bool = True) -> None:
        profile: dict[str, Any] = {"real_name": name, "display_name": name}
        if email:
            profile["email"] = email
        self.users[user_id] = {"id": user_id, "team_id": team_id, "name": name.lower(), "real_name": name,
                               "is_bot": False, "is_email_confirmed": email_confirmed, "profile": profile}

    def script(self, method: str, *responses: Scripted) -> None:
        self.scripts.setdefault(method, []).extend(responses)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("api/").rstrip("/")

    def file_url(self, file_id: str, name: str, team: str = "T111") -> str:
        return f"{self.origin}/files-pri/{team}-{file_id}/{urllib.parse.quote(name)}"

    def add_file(self, file_id: str, name: str, content: bytes, mimetype: str, *, team: str = "T111",
                 size: int | None = None, chunked: bool = False) -> dict[str, Any]:
        """Hosts ``content`` and returns the file object of a message event (``size`` may be declared falsely)."""
        self.files[file_id] = HostedFile(file_id, name, mimetype, content, chunked)
        url = self.file_url(file_id, name, team)
        return {"id": file_id, "name": name, "title": name, "mimetype": mimetype,
                "filetype": name.rsplit(".", 1)[-1], "size": len(content) if size is None else size,
                "mode": "hosted", "is_external": False, "url_private": url,
                "url_private_download": url.replace(f"/{team}-{file_id}/", f"/{team}-{file_id}/download/")}

    async def serve_file(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        file_id = request.match_info["key"].split("-", 1)[-1]
        self.downloads.append(Call("url_private", token, {"file": file_id}))
        queued = self.scripts.get("url_private")
        if queued:
            s = queued.pop(0)
            return web.json_response(s.body, status=s.status, headers=s.headers)
        if not token:
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        hosted = self.files.get(file_id)
        if hosted is None:
            return web.Response(status=404, text="Not Found")
        if not hosted.chunked:
            return web.Response(body=hosted.content, content_type=hosted.mimetype)
        resp = web.StreamResponse(headers={"Content-Type": hosted.mimetype})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for start in range(0, len(hosted.content), 1024):
            await resp.write(hosted.content[start:start + 1024])
        await resp.write_eof()
        return resp

    async def receive_upload(self, request: web.Request) -> web.Response:
        """The upload_url: raw bytes or a multipart ``file`` field, as Slack's file service takes either."""
        upload = self.started_uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="Not Found")
        if request.content_type.startswith("multipart/"):
            part = await (await request.multipart()).next()
            data = await part.read() if isinstance(part, BodyPartReader) else b""
        else:
            data = await request.read()
        upload.content = bytes(data)
        return web.Response(text=f"OK - {len(data)}")

    def _start_upload(self, token: str, args: dict[str, Any]) -> web.Response:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return web.json_response({"ok": False, "error": "invalid_arguments"})
        file_id = f"F0UP{len(self.started_uploads) + 1:07d}"
        self.started_uploads[file_id] = Upload(file_id, filename, int(length), token)
        return web.json_response({"ok": True, "upload_url": f"{self.origin}/upload/v1/{file_id}", "file_id": file_id})

    def _complete_upload(self, args: dict[str, Any]) -> web.Response:
        try:
            wanted = json.loads(str(args.get("files") or ""))
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_arguments"})
        if not isinstance(wanted, list) or not wanted:
            return web.json_response({"ok": False, "error": "invalid_arguments"})
        found = [self.started_uploads.get(str(f.get("id"))) if isinstance(f, dict) else None for f in wanted]
        if any(u is None or u.content is None or u.channel_id is not None for u in found):
            return web.json_response({"ok": False, "error": "file_not_found"})
        shared = []
        for f, u in zip(wanted, found, strict=True):
            assert u is not None and u.content is not None
            u.title = f.get("title") or u.filename
            u.channel_id, u.thread_ts = args.get("channel_id"), args.get("thread_ts")
            u.initial_comment = args.get("initial_comment")
            self.uploads.append(u)
            shared.append({"id": u.file_id, "name": u.filename, "title": u.title, "size": len(u.content),
                           "mimetype": "application/octet-stream", "channels": [u.channel_id] if u.channel_id else []})
        return web.json_response({"ok": True, "files": shared})

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        if request.content_type == "application/json":
            args = json.loads(raw or b"{}")
        else:
            args = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
            args.update({k: v for k, v in request.query.items()})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call(method, token, args))
        if method in self.delays:
            await asyncio.sleep(self.delays[method])  # simulating a slow Slack, not synchronizing
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        queued = self.scripts.get(method)
        if queued:
            s = queued.pop(0)
            return web.json_response(s.body, status=s.status, headers=s.headers)
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return web.json_response({"ok": False, "error": "user_not_found"})
            return web.json_response({"ok": True, "user": user})
        if method == "files.getUploadURLExternal":
            return self._start_upload(token, args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method == "chat.postMessage":
            self._ts += 1
            ts = f"{int(time.time())}.{self._ts:06d}"
            return web.json_response({"ok": True, "channel": args.get("channel"), "ts": ts,
                                      "message": {"type": "message", "text": args.get("text"), "ts": ts,
                                                  "thread_ts": args.get("thread_ts"), "bot_id": "B0OURBOT"}})
        return web.json_response({"ok": False, "error": "unknown_method"})


def sign(secret: str, body: bytes, ts: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}"))."""
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


@asynccontextmanager
async def running_slack_api() -> AsyncIterator[SlackApiStandIn]:
    api = SlackApiStandIn()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", api.handle)  # users.info is a GET, chat.postMessage a POST
    app.router.add_get("/files-pri/{key}/{name:.*}", api.serve_file)
    app.router.add_post("/upload/v1/{file_id}", api.receive_upload)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    api.base_url = f"http://127.0.0.1:{port}/api/"
    try:
        yield api
    finally:
        await runner.cleanup()
