"""Agents open customers' files safely and send files with replies, over real HTTP and SMTP."""

from __future__ import annotations

import time
import uuid

import aiohttp
from psycopg_pool import AsyncConnectionPool

from channels import email_mime
from gateway.ingest import ingest
from store import mailboxes
from store.models import IngestResult
from store.tenants import Tenant
from tests.channels.test_attachments import HTML, SVG, mail_with_parts, png_bytes
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway
from tests.servers.smtp import SmtpServer

SAFE = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"}


async def customer_mail(pool: AsyncConnectionPool, tenant: Tenant, *parts: tuple[str, str, bytes]) -> IngestResult:
    raw = mail_with_parts(*parts).replace(b"<att-1@", f"<{uuid.uuid4().hex}@".encode())
    return await ingest(pool, email_mime.parse(raw, tenant_id=tenant.id))


async def fetch(console: ConsoleClient, path: str) -> tuple[int, dict[str, str], bytes]:
    async with console.http.get(f"{console.base}{path}") as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def upload(console: ConsoleClient, conversation_id: int, name: str, data: bytes,
                 ctype: str = "application/octet-stream") -> tuple[int, dict]:
    form = aiohttp.FormData(quote_fields=False)  # raw UTF-8 names, as browsers send them
    form.add_field("file", data, filename=name, content_type=ctype)
    async with console.http.post(f"{console.base}/console/api/conversations/{conversation_id}/attachments",
                                 data=form, headers={"X-CSRF-Token": console.csrf}) as resp:
        return resp.status, await resp.json()


async def test_markup_downloads_and_images_show_inline(console: ConsoleClient, pool: AsyncConnectionPool,
                                                       tenant: Tenant) -> None:
    result = await customer_mail(pool, tenant, ("shot.png", "image/png", png_bytes()),
                                 ("page.html", "text/html", HTML), ("logo.svg", "image/svg+xml", SVG),
                                 ("cat.png", "image/png", HTML))
    detail = await console.get(f"/console/api/conversations/{result.conversation_id}")
    msgs = [m for m in detail["timeline"] if m["id"] == result.message_id]
    metas = msgs[0]["attachments"]
    assert [(m["name"], m["inline"]) for m in metas] == [
        ("shot.png", True), ("page.html", False), ("logo.svg", False), ("cat.png", False)]

    status, headers, body = await fetch(console, f"/console/api/attachments/{metas[0]['id']}")
    assert (status, headers["Content-Type"], body) == (200, "image/png", png_bytes())
    assert headers["Content-Disposition"].startswith("inline;")
    for meta in metas[1:]:  # html, svg and html disguised as .png
        status, headers, body = await fetch(console, f"/console/api/attachments/{meta['id']}")
        assert status == 200 and body in (HTML, SVG)
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Disposition"].startswith("attachment;")
        assert {k: headers[k] for k in SAFE} == SAFE
        assert headers["Cache-Control"].startswith("private")


async def test_other_tenants_files_are_not_found(console: ConsoleClient, pool: AsyncConnectionPool,
                                                 other_tenant: Tenant, gateway: RunningGateway) -> None:
    theirs = await customer_mail(pool, other_tenant, ("secret.png", "image/png", png_bytes()))
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id FROM attachments WHERE tenant_id = %s", (other_tenant.id,))
        (att_id,) = [r["id"] for r in await cur.fetchall()]
    status, _, _ = await fetch(console, f"/console/api/attachments/{att_id}")
    assert status == 404
    assert (await fetch(console, "/console/api/attachments/abc"))[0] == 404
    assert (await upload(console, theirs.conversation_id, "a.txt", b"hi"))[0] == 404
    anonymous = ConsoleClient(gateway.url)
    try:
        assert (await fetch(anonymous, f"/console/api/attachments/{att_id}"))[0] == 401
    finally:
        await anonymous.close()


async def test_upload_limits_name_the_field(console: ConsoleClient, pool: AsyncConnectionPool, tenant: Tenant,
                                            gateway: RunningGateway) -> None:
    result = await customer_mail(pool, tenant)
    limit = gateway.settings.attachment_max_bytes
    status, body = await upload(console, result.conversation_id, "big.pdf", b"%PDF-" + b"0" * limit)
    assert (status, body["error"]["field"]) == (413, "file")
    status, body = await upload(console, result.conversation_id, "setup.exe", b"MZ\x90\x00")
    assert (status, body["error"]["field"]) == (415, "file")
    status, body = await console.post(f"/console/api/conversations/{result.conversation_id}/reply",
                                      {"text": "here", "attachment_ids": [999999]}, expect=422), 422
    assert status["error"]["field"] == "attachment_ids"


async def test_agent_reply_carries_files_as_mime_attachments(console: ConsoleClient, pool: AsyncConnectionPool,
                                                             tenant: Tenant, smtp: SmtpServer) -> None:
    async with pool.connection() as conn:
        await mailboxes.create(conn, tenant.id, imap_host="127.0.0.1", imap_port=1, imap_security="none",
                               imap_username="x", imap_password_env="SB_TEST_UNUSED", from_address="support@acme.test", from_name="Acme Support",
                               smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none")
    result = await customer_mail(pool, tenant)
    status, up = await upload(console, result.conversation_id, "Rechnung März.pdf", b"%PDF-1.7\nfake", "application/pdf")
    assert status == 201, up
    reply = await console.post(f"/console/api/conversations/{result.conversation_id}/reply",
                               {"text": "Your invoice is attached.", "attachment_ids": [up["attachment"]["id"]]})
    # The same upload cannot be sent twice.
    await console.post(f"/console/api/conversations/{result.conversation_id}/reply",
                       {"text": "again", "attachment_ids": [up["attachment"]["id"]]}, expect=422)

    deadline = time.monotonic() + 30
    while not [m for m in smtp.messages if "Your invoice is attached." in m.text()]:
        assert time.monotonic() < deadline, "the agent's reply never reached SMTP"
        await console.get("/console/api/me")  # poll with a deadline; the in-process dispatcher sends it
    sent = next(m for m in smtp.messages if "Your invoice is attached." in m.text()).message
    files = [(p.get_filename(), p.get_content_type(), p.get_content()) for p in sent.iter_attachments()]
    assert files == [("Rechnung März.pdf", "application/pdf", b"%PDF-1.7\nfake")]
    detail = await console.get(f"/console/api/conversations/{result.conversation_id}")
    mine = [m for m in detail["timeline"] if m["id"] == reply["message_id"]]
    assert [a["name"] for a in mine[0]["attachments"]] == ["Rechnung März.pdf"]


async def test_agent_cannot_send_another_agents_upload(console: ConsoleClient, pool: AsyncConnectionPool,
                                                       tenant: Tenant, gateway: RunningGateway) -> None:
    result = await customer_mail(pool, tenant)
    status, up = await upload(console, result.conversation_id, "notes.txt", b"private notes")
    assert status == 201
    await make_agent(pool, tenant, f"bob@{tenant.slug}.test")
    bob = ConsoleClient(gateway.url)
    try:
        assert await bob.login(f"bob@{tenant.slug}.test", PASSWORD) == 303
        body = await bob.post(f"/console/api/conversations/{result.conversation_id}/reply",
                              {"text": "x", "attachment_ids": [up["attachment"]["id"]]}, expect=422)
        assert body["error"]["field"] == "attachment_ids"
    finally:
        await bob.close()
