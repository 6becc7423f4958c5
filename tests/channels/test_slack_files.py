"""Slack files both ways, over real HTTP: events signed as Slack signs them, Slack's Web API and file
hosts as the local stand-in (``tests/servers/slack_api.py``), agents' replies through the console.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from channels.slack import SlackChannel
from gateway.app import services
from gateway.dispatcher import Dispatcher
from store import attachments
from store.models import Channel
from store.tenants import Tenant
from tests.channels.test_attachments import HTML, png_bytes
from tests.channels.test_slack import (  # noqa: F401  (fixtures)
    DM,
    SECRETS,
    TEAM,
    TOKENS,
    dm,
    post,
    rows,
    slack_api,
    wait_event,
    wait_rows,
    workspaces,
)
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.copilot.test_attachments_console import upload
from tests.servers.gateway import RunningGateway, running_gateway
from tests.servers.slack_api import Scripted, SlackApiStandIn

MAX_BYTES = 4096  # small, so an over-limit file is cheap to make


@pytest.fixture
async def gw(pool: AsyncConnectionPool, dsn: str, tmp_path: Path, workspaces: None  # noqa: F811
             ) -> AsyncIterator[RunningGateway]:
    """The gateway without the AI worker, small attachment limits, and a dispatcher for Slack only."""
    async with running_gateway(pool, dsn, tmp_path, run_workers=False, attachment_max_bytes=MAX_BYTES) as gateway:
        slack: SlackChannel = services(gateway.app)["slack"]
        dispatcher = asyncio.create_task(Dispatcher(pool, {Channel.SLACK: slack.sender},
                                                    idle_poll_seconds=0.05).run_forever())
        try:
            yield gateway
        finally:
            dispatcher.cancel()
            await asyncio.gather(dispatcher, return_exceptions=True)


async def message_with_files(gw: RunningGateway, pool: AsyncConnectionPool, event_id: str, ts: str,
                             files: list[dict[str, Any]]) -> dict[str, Any]:
    body = dm(event_id, ts, text="see attached", subtype="file_share", files=files)
    assert (await post(gw.url, body, SECRETS[TEAM]))[0] == 200
    await wait_event(pool, event_id)
    [msg] = await rows(pool, "SELECT * FROM messages WHERE external_id = %s", f"{DM}:{ts}")
    return msg


async def test_inbound_files_are_stored_by_their_real_type_with_their_bytes(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn) -> None:  # noqa: F811
    files = [slack_api.add_file("F1", "screen.png", png_bytes(), "image/png"),
             slack_api.add_file("F2", "invoice.png", HTML, "image/png")]  # markup dressed as an image
    msg = await message_with_files(gw, pool, "EvFILE1", "1700001000.000100", files)

    assert msg["text"] == "see attached"
    async with pool.connection() as conn:
        stored = await attachments.for_message(conn, tenant.id, msg["id"])
    assert [(a.filename, a.sniffed_type, a.declared_type, a.conversation_id, data) for a, data in stored] == [
        ("screen.png", "image/png", "image/png", msg["conversation_id"], png_bytes()),
        ("invoice.png", "text/html", "image/png", msg["conversation_id"], HTML),
    ]
    assert msg["attachments"] == [a.meta() for a, _ in stored]
    assert [m["inline"] for m in msg["attachments"]] == [True, False]
    assert [(c.args["file"], c.token) for c in slack_api.downloads] == [("F1", TOKENS[TEAM]), ("F2", TOKENS[TEAM])]


async def test_files_kept_out_are_listed_with_why_and_the_message_still_arrives(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn) -> None:  # noqa: F811
    gone = slack_api.add_file("F7", "deleted.txt", b"x", "text/plain")
    del slack_api.files["F7"]  # deleted in Slack after the event was sent: its url_private answers 404
    off_slack = {**slack_api.add_file("F8", "elsewhere.txt", b"x", "text/plain"),
                 "url_private": "https://files.example.net/files-pri/T111-F8/elsewhere.txt"}
    files = [
        slack_api.add_file("F3", "video.mp4", b"\x00" * 10, "video/mp4", size=50_000_000),
        slack_api.add_file("F4", "dump.bin", b"\x00" * (MAX_BYTES + 1000), "application/octet-stream", size=100),
        slack_api.add_file("F4S", "stream.bin", b"\x00" * (MAX_BYTES + 1000), "application/octet-stream", size=100,
                           chunked=True),
        slack_api.add_file("F5", "setup.exe", b"MZ\x90\x00", "application/x-msdownload"),
        slack_api.add_file("F6", "report.pdf", b"MZ\x90\x00", "application/pdf"),  # an executable named .pdf
        gone,
        off_slack,
        slack_api.add_file("F9", "notes.txt", b"plain notes\n", "text/plain"),
    ]
    msg = await message_with_files(gw, pool, "EvFILE2", "1700001100.000100", files)

    assert msg["text"] == "see attached"
    assert len(await rows(pool, "SELECT 1 FROM jobs WHERE payload->>'message_id' = %s", str(msg["id"]))) == 1
    listed = [(m["name"], m.get("rejected"), "id" in m) for m in msg["attachments"]]
    assert listed == [
        ("video.mp4", f"50000000 bytes, at most {MAX_BYTES} allowed", False),  # declared too large: not fetched
        ("dump.bin", f"{MAX_BYTES + 1000} bytes, at most {MAX_BYTES} allowed", False),  # the event lied: 100
        ("stream.bin", f"larger than {MAX_BYTES} bytes", False),  # no Content-Length: cut off while reading
        ("setup.exe", "executable files are not accepted", False),  # refused by name: not fetched
        ("report.pdf", "executable files are not accepted", False),  # refused by its bytes
        ("deleted.txt", "download failed: Slack answered HTTP 404", False),
        ("elsewhere.txt", "the file's address is not on Slack", False),
        ("notes.txt", None, True),
    ]
    async with pool.connection() as conn:
        stored = await attachments.for_message(conn, tenant.id, msg["id"])
    assert [(a.filename, a.sniffed_type, data) for a, data in stored] == [("notes.txt", "text/plain", b"plain notes\n")]
    assert [c.args["file"] for c in slack_api.downloads] == ["F4", "F4S", "F6", "F7", "F9"]  # never F3, F5 or off Slack


async def test_files_past_the_per_message_count_are_listed_not_fetched(
        gw: RunningGateway, pool: AsyncConnectionPool, slack_api: SlackApiStandIn) -> None:  # noqa: F811
    limit = gw.settings.attachment_max_per_message
    files = [slack_api.add_file(f"FN{i:02d}", f"n{i}.txt", b"note %d\n" % i, "text/plain") for i in range(limit + 1)]
    msg = await message_with_files(gw, pool, "EvFILE3", "1700001200.000100", files)
    assert [m.get("rejected") for m in msg["attachments"]] == [None] * limit + [f"more than {limit} files"]
    assert len(slack_api.downloads) == limit


async def agent_console(gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> ConsoleClient:
    await make_agent(pool, tenant, f"ann@{tenant.slug}.test")
    console = ConsoleClient(gw.url)
    assert await console.login(f"ann@{tenant.slug}.test", PASSWORD) == 303
    return console


async def reply_with_file(gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, ts: str, event_id: str,
                          name: str, data: bytes) -> dict[str, Any]:
    """A customer's DM, then an agent's console reply carrying one uploaded file; returns the reply."""
    assert (await post(gw.url, dm(event_id, ts), SECRETS[TEAM]))[0] == 200
    await wait_event(pool, event_id)
    [msg] = await rows(pool, "SELECT conversation_id FROM messages WHERE external_id = %s", f"{DM}:{ts}")
    console = await agent_console(gw, pool, tenant)
    try:
        status, up = await upload(console, msg["conversation_id"], name, data, "application/pdf")
        assert status == 201, up
        return await console.post(f"/console/api/conversations/{msg['conversation_id']}/reply",
                                  {"text": "Your invoice is attached.", "attachment_ids": [up["attachment"]["id"]]})
    finally:
        await console.close()


async def test_agent_reply_with_a_file_is_uploaded_once_into_the_thread(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn) -> None:  # noqa: F811
    ts = "1700001300.000100"
    reply = await reply_with_file(gw, pool, tenant, ts, "EvOUT1", "invoice.pdf", b"%PDF-1.7\nfake invoice")
    [row] = await wait_rows(pool, "SELECT * FROM outbox WHERE message_id = %s AND status = 'sent'", reply["message_id"])

    [sent] = slack_api.uploads
    assert (sent.channel_id, sent.thread_ts) == (DM, ts)
    assert (sent.filename, sent.title, sent.content) == ("invoice.pdf", "invoice.pdf", b"%PDF-1.7\nfake invoice")
    assert sent.length == len(sent.content) and sent.token == TOKENS[TEAM]
    assert sent.initial_comment == "Your invoice is attached."  # the reply's text travels with the file
    assert slack_api.calls_to("chat.postMessage") == []  # …and only there: the customer sees it once
    assert len(slack_api.calls_to("files.completeUploadExternal")) == 1 and row["attempts"] == 1


async def test_a_retried_upload_is_still_shared_once(
        gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant, slack_api: SlackApiStandIn) -> None:  # noqa: F811
    slack_api.script("files.completeUploadExternal",
                     Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    ts = "1700001400.000100"
    reply = await reply_with_file(gw, pool, tenant, ts, "EvOUT2", "invoice.pdf", b"%PDF-1.7\nsecond try")
    [row] = await wait_rows(pool, "SELECT * FROM outbox WHERE message_id = %s AND status = 'sent'", reply["message_id"])

    assert row["attempts"] == 2 and len(slack_api.calls_to("files.completeUploadExternal")) == 2
    assert len(slack_api.started_uploads) == 2  # the first attempt's bytes stay an unshared private upload
    [sent] = slack_api.uploads
    assert (sent.channel_id, sent.thread_ts, sent.content) == (DM, ts, b"%PDF-1.7\nsecond try")
    assert slack_api.calls_to("chat.postMessage") == []
