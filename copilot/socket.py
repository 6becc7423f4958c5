"""The ``/copilot`` Socket.IO namespace: live queue updates and streamed suggestions with sources.

Agents authenticate with the console's session cookie, so the origin is checked too (a cookie is
sent by the browser from any site). Events, client → server:
- ``suggest`` ``{conversation_id}`` → ``suggestion`` events ``{request_id, conversation_id, text,
  source?, done, sources?, suggestion_id?}`` streamed as they are produced; the ack is ``{ok, request_id}``;
- ``cancel`` ``{request_id}`` stops a stream.
Server → client: ``conversation`` ``{id}`` whenever a conversation of the tenant changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from http.cookies import SimpleCookie
from typing import Any

import psycopg
import socketio
from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from copilot.auth import Auth
from copilot.ports import Suggester
from copilot.sessions import COOKIE
from store import conversations, suggestions
from store.models import Source

log = logging.getLogger("switchboard.copilot")
NAMESPACE = "/copilot"


def _source(s: Source | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"id": s.id, "title": s.title, "snippet": s.snippet, "url": s.url, "score": s.score, "kind": s.kind}


class CopilotNamespace(socketio.AsyncNamespace):
    def __init__(self, pool: AsyncConnectionPool, auth: Auth, suggester: Suggester | None,
                 allowed_origins: tuple[str, ...]) -> None:
        super().__init__(NAMESPACE)
        self.pool = pool
        self.auth = auth
        self.suggester = suggester
        self.allowed_origins = allowed_origins
        self._streams: dict[str, asyncio.Task[None]] = {}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """A connected client may emit an event *named* connect/disconnect; python-socketio would run the
        sign-in again (raising into a task nobody awaits, the client left without an ack) or cancel
        its streams. Refused like an unknown event instead, as the chat namespace does."""
        if event in ("connect", "disconnect") and self._sent_by_client(event, args):
            return {"ok": False, "error": {"code": "unknown_event", "field": "event", "message": f"{event} is reserved"}}
        return await super().trigger_event(event, *args)

    def _sent_by_client(self, event: str, args: tuple[Any, ...]) -> bool:
        if event == "connect":  # the real one carries aiohttp's request, which no JSON payload can
            environ = args[1] if len(args) > 1 else None
            return not (isinstance(environ, dict) and isinstance(environ.get("aiohttp.request"), web.Request))
        return bool(self.server.manager.is_connected(args[0], self.namespace))  # a real disconnect is past that

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin.rstrip("/") not in self.allowed_origins:
            raise socketio.exceptions.ConnectionRefusedError("origin not allowed")
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        raw = cookie[COOKIE].value if COOKIE in cookie else None
        data = self.auth.codec.load(raw) if raw else None
        if data is None:
            raise socketio.exceptions.ConnectionRefusedError("sign in first")
        agent_id, tenant_id, version = data
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT session_version FROM agents WHERE tenant_id = %s AND id = %s",
                                     (tenant_id, agent_id))
            row = await cur.fetchone()
        if row is None or row["session_version"] != version:
            raise socketio.exceptions.ConnectionRefusedError("session ended")
        await self.save_session(sid, {"tenant_id": tenant_id, "agent_id": agent_id})
        await self.enter_room(sid, f"tenant:{tenant_id}")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        for key in [k for k in self._streams if k.startswith(f"{sid}:")]:
            self._streams.pop(key).cancel()

    async def on_suggest(self, sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("conversation_id"), int):
            return {"ok": False, "error": {"code": "invalid", "field": "conversation_id", "message": "required integer"}}
        session = await self.get_session(sid)
        cid = data["conversation_id"]
        async with self.pool.connection() as conn:
            try:
                await conversations.get(conn, session["tenant_id"], cid)
            except conversations.NotFound:
                return {"ok": False, "error": {"code": "not_found", "field": "conversation_id",
                                               "message": "no such conversation"}}
        if self.suggester is None:
            return {"ok": False, "error": {"code": "unavailable", "field": None, "message": "suggestions are off"}}
        request_id = uuid.uuid4().hex
        self._streams[f"{sid}:{request_id}"] = asyncio.create_task(
            self._stream(sid, session["tenant_id"], session["agent_id"], cid, request_id))
        return {"ok": True, "request_id": request_id}

    async def on_cancel(self, sid: str, data: Any) -> dict[str, Any]:
        request_id = data.get("request_id") if isinstance(data, dict) else None
        task = self._streams.pop(f"{sid}:{request_id}", None)
        if task is None:
            return {"ok": False, "error": {"code": "not_found", "field": "request_id", "message": "no such stream"}}
        task.cancel()
        return {"ok": True}

    async def _stream(self, sid: str, tenant_id: int, agent_id: int, cid: int, request_id: str) -> None:
        assert self.suggester is not None
        parts: list[str] = []
        try:
            async for chunk in self.suggester.suggest(tenant_id, cid):
                if chunk.done:
                    async with self.pool.connection() as conn:
                        sugg_id = await suggestions.record(conn, tenant_id, cid, agent_id, "".join(parts),
                                                           chunk.sources)
                    await self.emit("suggestion", {"request_id": request_id, "conversation_id": cid, "text": "",
                                                   "done": True, "suggestion_id": sugg_id,
                                                   "sources": [_source(s) for s in chunk.sources]}, to=sid)
                    break
                parts.append(chunk.text)
                await self.emit("suggestion", {"request_id": request_id, "conversation_id": cid, "text": chunk.text,
                                               "source": _source(chunk.source), "done": False}, to=sid)
        except asyncio.CancelledError:
            await self.emit("suggestion", {"request_id": request_id, "conversation_id": cid, "text": "",
                                           "done": True, "cancelled": True}, to=sid)
            raise
        except Exception:
            log.exception("suggestion stream failed")
            await self.emit("suggestion", {"request_id": request_id, "conversation_id": cid, "text": "",
                                           "done": True, "error": "suggestion failed"}, to=sid)
        finally:
            self._streams.pop(f"{sid}:{request_id}", None)


async def relay_conversation_changes(sio: socketio.AsyncServer, dsn: str) -> None:
    """Every process listens and tells its own connected agents (ignore_queue: no cross-process echo)."""
    delay = 0.5
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute("LISTEN sb_conversations")
                delay = 0.5
                async for note in conn.notifies():
                    tenant, _, conv = note.payload.partition(":")
                    with contextlib.suppress(ValueError):
                        await sio.emit("conversation", {"id": int(conv)}, room=f"tenant:{int(tenant)}",
                                       namespace=NAMESPACE, ignore_queue=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("conversation listener lost its connection: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10)
