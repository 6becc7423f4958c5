"""Every limit at the edge, read from the running gateway's own settings, enforced with a clear error.

One row per limit: the value comes from ``Settings`` / the chat channel's ``ChatLimits`` as the app
was built, so a changed default is still tested at its new value. At the limit a request passes;
one past it is refused with the code and the field at fault (or, for Socket.IO frames over the
engine's buffer, the connection is closed). The gateway trusts 127.0.0.1 as a proxy here so each
row can speak from its own client address via ``X-Forwarded-For`` — which also proves per-address
limits count the forwarded client, not the proxy.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from psycopg_pool import AsyncConnectionPool

from channels.chat import ChatLimits
from channels.webform import FormLimits
from gateway.api.models import MAX_BATCH, MAX_TEXT
from gateway.app import SOCKET_MAX_MESSAGE_BYTES, services
from gateway.appkeys import POOL
from store import api_tokens
from store.tenants import Tenant
from tests.servers.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def gw(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with running_gateway(pool, dsn, tmp_path, run_workers=False, trusted_proxies="127.0.0.1") as g:
        yield g


def _addr() -> str:
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"


async def _session(gw: RunningGateway, slug: str, ip: str, data: bytes = b"{}") -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.post(
            f"{gw.url}/chat/{slug}/session", data=data,
            headers={"Content-Type": "application/json", "X-Forwarded-For": ip}) as resp:
        return resp.status, await resp.json()


async def _socket(gw: RunningGateway, token: str, ip: str) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(gw.url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"],
                      headers={"X-Forwarded-For": ip}, wait_timeout=10)
    return sio


async def _refusal(gw: RunningGateway, token: str, ip: str) -> str:
    sio = socketio.AsyncClient(reconnection=False)
    reasons: list[Any] = []
    sio.on("connect_error", reasons.append, namespace="/chat")
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(gw.url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"],
                              headers={"X-Forwarded-For": ip}, wait_timeout=5)
    finally:
        await sio.disconnect()
    return str(reasons[0]["message"] if reasons and isinstance(reasons[0], dict) else reasons)


# --- the rows --------------------------------------------------------------------------------------

async def body_bytes(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    limit = gw.settings.max_body_bytes
    pad = json.dumps({"pad": ""}).encode()
    at = json.dumps({"pad": "x" * (limit - len(pad))}).encode()
    assert len(at) == limit
    assert (await _session(gw, tenant.slug, _addr(), at))[0] == 200
    for path in (f"/chat/{tenant.slug}/session", "/slack/events", "/slack/interactivity"):
        async with aiohttp.ClientSession() as http, http.post(
                gw.url + path, data=at + b" ", headers={"Content-Type": "application/json"}) as resp:
            body = await resp.json()
            assert resp.status == 413 and body["error"]["field"] == "body", (path, resp.status, body)


async def _visitor(gw: RunningGateway, tenant: Tenant) -> tuple[socketio.AsyncClient, str]:
    ip = _addr()
    status, tok = await _session(gw, tenant.slug, ip)
    assert status == 200
    return await _socket(gw, tok["token"], ip), tok["token"]


async def _message(sio: socketio.AsyncClient, **data: Any) -> dict[str, Any]:
    ack: dict[str, Any] = await sio.call("message", data, namespace="/chat", timeout=10)
    return ack


async def message_length(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    sio, _ = await _visitor(gw, tenant)
    try:
        assert (await _message(sio, client_id="at", text="é" * limits.max_text_chars))["ok"]
        ack = await _message(sio, client_id="past", text="é" * (limits.max_text_chars + 1))
        assert ack["error"]["code"] == "too_long" and ack["error"]["field"] == "text", ack
        ack = await _message(sio, client_id="c" * (limits.max_client_id_chars + 1), text="hi")
        assert ack["error"]["code"] == "too_long" and ack["error"]["field"] == "client_id", ack
    finally:
        await sio.disconnect()


async def chat_rate(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    sio, _ = await _visitor(gw, tenant)
    try:
        acks = await asyncio.gather(*(_message(sio, client_id=f"r{k}", text="quick")
                                      for k in range(int(limits.message_burst) + 3)))
        refused = [a for a in acks if not a["ok"]]
        assert sum(1 for a in acks if a["ok"]) >= int(limits.message_burst) - 1 and refused, acks
        assert all(a["error"]["code"] == "rate_limited" and a["error"]["field"] == "rate" for a in refused), refused
    finally:
        await sio.disconnect()


async def sockets_per_address(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    ip = _addr()
    status, tok = await _session(gw, tenant.slug, ip)
    assert status == 200
    held = [await _socket(gw, tok["token"], ip) for _ in range(limits.connections_per_ip)]
    try:
        assert await _refusal(gw, tok["token"], ip) == "too many connections from this address"
        other = await _socket(gw, tok["token"], _addr())  # another customer behind the same proxy
        await other.disconnect()
    finally:
        for s in held:
            await s.disconnect()


async def sessions_per_address(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    ip = _addr()
    statuses = [(await _session(gw, tenant.slug, ip))[0] for _ in range(12)]
    assert statuses[:10] == [200] * 10 and 429 in statuses[10:], statuses
    assert (await _session(gw, tenant.slug, _addr()))[0] == 200


async def socket_frame_bytes(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    sio, _ = await _visitor(gw, tenant)
    try:
        with pytest.raises((socketio.exceptions.TimeoutError, socketio.exceptions.DisconnectedError,
                            socketio.exceptions.BadNamespaceError)):
            await sio.call("message", {"client_id": "big", "text": "x" * SOCKET_MAX_MESSAGE_BYTES},
                           namespace="/chat", timeout=5)
    finally:
        await sio.disconnect()
    sio, _ = await _visitor(gw, tenant)  # the gateway carries on
    try:
        assert (await _message(sio, client_id="after", text="still here"))["ok"]
    finally:
        await sio.disconnect()


async def _api(gw: RunningGateway, tenant: Tenant, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    pool = gw.app[POOL]
    async with pool.connection() as conn:
        _, secret = await api_tokens.create(conn, tenant.id, name="limits", scopes=api_tokens.SCOPES,
                                            created_by="test", rate_limit_per_minute=600)
    async with aiohttp.ClientSession() as http, http.post(gw.url + path, json=body,
                                                          headers={"Authorization": f"Bearer {secret}"}) as resp:
        return resp.status, await resp.json()


async def api_batch_and_text(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    status, body = await _api(gw, tenant, "/api/v1/classify", {"items": [{"body": "x"}] * (MAX_BATCH + 1)})
    assert status == 422 and "items" in json.dumps(body["error"]), (status, body)
    status, body = await _api(gw, tenant, "/api/v1/conversations",
                              {"external_id": "long-1", "customer": {"email": "kim@customer.test"},
                               "text": "x" * (MAX_TEXT + 1)})
    assert status == 422 and "text" in json.dumps(body["error"]), (status, body)


async def form_fields(gw: RunningGateway, tenant: Tenant, limits: ChatLimits) -> None:
    form = services(gw.app).get("webform")
    form_limits = form.limits if form is not None else FormLimits()
    async with aiohttp.ClientSession() as http, http.post(
            f"{gw.url}/forms/{tenant.slug}", json={"email": "kim@customer.test", "name": "Kim",
                                                   "message": "x" * (form_limits.message_chars + 1)},
            headers={"X-Forwarded-For": _addr(), "Accept": "application/json"}) as resp:
        text = await resp.text()
        assert 400 <= resp.status < 500 and "message" in text, (resp.status, text[:300])


Row = Callable[[RunningGateway, Tenant, ChatLimits], Awaitable[None]]
ROWS: dict[str, Row] = {
    "SWITCHBOARD_MAX_BODY_BYTES": body_bytes,
    "ChatLimits.max_text_chars/max_client_id_chars": message_length,
    "SWITCHBOARD_CHAT_MESSAGES_PER_SECOND (burst)": chat_rate,
    "ChatLimits.connections_per_ip": sockets_per_address,
    "ChatLimits.sessions_per_ip_per_minute": sessions_per_address,
    "SOCKET_MAX_MESSAGE_BYTES": socket_frame_bytes,
    "gateway.api.models.MAX_BATCH/MAX_TEXT": api_batch_and_text,
    "FormLimits.message_chars": form_fields,
}


@pytest.mark.parametrize("limit", list(ROWS))
async def test_limit_is_enforced_with_a_clear_error(limit: str, gw: RunningGateway, tenant: Tenant) -> None:
    limits: ChatLimits = services(gw.app)["chat"].limits
    await ROWS[limit](gw, tenant, limits)
