"""Files in web chat over real HTTP and Socket.IO: upload, send by id, download only what one may see."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from psycopg_pool import AsyncConnectionPool

from store import tenant_data
from store.tenants import Tenant
from tests.channels.test_attachments import HTML, SVG, png_bytes
from tests.channels.test_chat import Visitor, session_token
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway, running_gateway

LIMIT = 4096
SAFE = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}


@pytest.fixture
async def small_gateway(pool: AsyncConnectionPool, dsn: str, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    async with running_gateway(pool, dsn, tmp_path, attachment_max_bytes=LIMIT, attachment_max_per_message=3) as gw:
        yield gw


async def upload(url: str, slug: str, token: str | None, name: str, data: bytes) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="image/png")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.post(f"{url}/chat/{slug}/upload", data=form,
                                                          headers=headers) as resp:
        return resp.status, await resp.json()


async def download(url: str, slug: str, token: str, att_id: int) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/chat/{slug}/attachments/{att_id}",
                                                         headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def connected(url: str, slug: str) -> tuple[Visitor, str]:
    tok = (await session_token(url, slug))["token"]
    v = Visitor()
    await v.connect(url, tok)
    return v, tok


async def test_visitor_sends_files_and_gets_them_back_safely(small_gateway: RunningGateway, tenant: Tenant,
                                                             pool: AsyncConnectionPool) -> None:
    url, slug = small_gateway.url, tenant.slug
    v, tok = await connected(url, slug)
    try:
        ids = []
        for name, data in [("shot.png", png_bytes()), ("cat.png", HTML), ("logo.svg", SVG)]:
            status, body = await upload(url, slug, tok, name, data)
            assert status == 201, body
            ids.append(body["attachment"]["id"])
        client_id = uuid.uuid4().hex
        ack = await v.call("message", {"client_id": client_id, "text": "", "attachment_ids": ids})
        assert ack["ok"], ack
        history = await v.call("history", {})
        sent = [m for c in history["conversations"] for m in c["messages"] if m["id"] == ack["message_id"]]
        assert [a["name"] for a in sent[0]["attachments"]] == ["shot.png", "cat.png", "logo.svg"]

        status, headers, data = await download(url, slug, tok, ids[0])
        assert (status, headers["Content-Type"], data) == (200, "image/png", png_bytes())
        for att_id, original in [(ids[1], HTML), (ids[2], SVG)]:
            status, headers, data = await download(url, slug, tok, att_id)
            assert (status, data) == (200, original)
            assert headers["Content-Type"] == "application/octet-stream"
            assert headers["Content-Disposition"].startswith("attachment;")
            assert {k: headers[k] for k in SAFE} == SAFE

        # Sent once: the same ids in a new message are refused, naming the field.
        again = await v.call("message", {"client_id": uuid.uuid4().hex, "text": "x", "attachment_ids": ids[:1]})
        assert again["error"]["field"] == "attachment_ids"
        # ...but resending the same message (same client_id) is the usual idempotent ack.
        resent = await v.call("message", {"client_id": client_id, "text": "", "attachment_ids": ids})
        assert (resent["ok"], resent["duplicate"], resent["message_id"]) == (True, True, ack["message_id"])
    finally:
        await v.sio.disconnect()


async def test_other_visitors_and_limits(small_gateway: RunningGateway, tenant: Tenant, other_tenant: Tenant) -> None:
    url, slug = small_gateway.url, tenant.slug
    ann, ann_tok = await connected(url, slug)
    bob, bob_tok = await connected(url, slug)
    try:
        status, body = await upload(url, slug, ann_tok, "a.png", png_bytes())
        ann_file = body["attachment"]["id"]
        ack = await bob.call("message", {"client_id": "c1", "text": "mine?", "attachment_ids": [ann_file]})
        assert ack["error"]["field"] == "attachment_ids"
        assert (await download(url, slug, bob_tok, ann_file))[0] == 404
        assert (await download(url, other_tenant.slug, ann_tok, ann_file))[0] == 404  # token of another tenant

        status, body = await upload(url, slug, ann_tok, "big.pdf", b"%PDF-" + b"0" * LIMIT)
        assert (status, body["error"]["field"]) == (413, "file")
        status, body = await upload(url, slug, ann_tok, "x.exe", b"MZ\x90\x00")
        assert (status, body["error"]["field"]) == (415, "file")
        status, body = await upload(url, slug, None, "a.png", png_bytes())
        assert (status, body["error"]["field"]) == (401, "Authorization")
        ack = await ann.call("message", {"client_id": "c2", "text": "four", "attachment_ids": [1, 2, 3, 4]})
        assert ack["error"]["field"] == "attachment_ids"
    finally:
        await ann.sio.disconnect()
        await bob.sio.disconnect()


async def test_agent_file_reaches_the_visitor(small_gateway: RunningGateway, tenant: Tenant,
                                              pool: AsyncConnectionPool) -> None:
    url, slug = small_gateway.url, tenant.slug
    v, tok = await connected(url, slug)
    await make_agent(pool, tenant, f"ann@{slug}.test")
    console = ConsoleClient(url)
    try:
        ack = await v.call("message", {"client_id": "q1", "text": "Can I get the invoice?"})
        cid = ack["conversation_id"]
        assert await console.login(f"ann@{slug}.test", PASSWORD) == 303
        form = aiohttp.FormData()
        form.add_field("file", b"%PDF-1.7\ninvoice", filename="invoice.pdf", content_type="application/pdf")
        async with console.http.post(f"{url}/console/api/conversations/{cid}/attachments", data=form,
                                     headers={"X-CSRF-Token": console.csrf}) as resp:
            assert resp.status == 201
            att = (await resp.json())["attachment"]
        await console.post(f"/console/api/conversations/{cid}/reply", {"text": "Here it is.",
                                                                       "attachment_ids": [att["id"]]})
        pushed = await v.wait_for(lambda m: m.get("text", "").startswith("Here it is"), within=30)
        assert [a["name"] for a in pushed["attachments"]] == ["invoice.pdf"]
        status, headers, data = await download(url, slug, tok, att["id"])
        assert (status, data, headers["Content-Type"]) == (200, b"%PDF-1.7\ninvoice", "application/octet-stream")
        other_tok = (await session_token(url, slug))["token"]
        assert (await download(url, slug, other_tok, att["id"]))[0] == 404
    finally:
        await console.close()
        await v.sio.disconnect()


async def test_erasure_removes_sent_and_unsent_uploads(small_gateway: RunningGateway, tenant: Tenant,
                                                       pool: AsyncConnectionPool) -> None:
    url, slug = small_gateway.url, tenant.slug
    v, tok = await connected(url, slug)
    try:
        sent_id = (await upload(url, slug, tok, "a.png", png_bytes()))[1]["attachment"]["id"]
        ack = await v.call("message", {"client_id": "e1", "text": "see file", "attachment_ids": [sent_id]})
        await upload(url, slug, tok, "b.png", png_bytes())  # uploaded, never sent
    finally:
        await v.sio.disconnect()
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute("SELECT customer_id FROM conversations WHERE tenant_id = %s AND id = %s",
                                 (tenant.id, ack["conversation_id"]))
        customer_id = (await cur.fetchone())["customer_id"]
        await tenant_data.erase_customer(conn, tenant.id, customer_id, actor="test",
                                         thread_id=lambda t, c: f"{t}:{c}", token_purposes=())
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM attachments WHERE tenant_id = %s", (tenant.id,))
        assert (await cur.fetchone())["n"] == 0
