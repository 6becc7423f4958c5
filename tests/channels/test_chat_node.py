"""The npm socket.io-client (run with node) chats with a running gateway, like a third-party embed."""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import pytest

from store.tenants import Tenant
from tests.servers.gateway import RunningGateway
from tests.servers.procs import REPO

SCRIPT = REPO / "tests" / "js" / "chat_client.mjs"
CLIENT = REPO / "node_modules" / "socket.io-client" / "package.json"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (./run setup installs it)"),
    pytest.mark.skipif(not CLIENT.exists(), reason="socket.io-client not installed: run ./run setup (npm ci)"),
]


async def run_node_client(url: str, slug: str, transports: str) -> dict[str, Any]:
    """Async subprocess: the gateway serves from this same event loop, so blocking on node would hang it."""
    proc = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), "--url", url, "--tenant", slug, "--transports", transports,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(30):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert out.strip(), f"node printed nothing; stderr: {err.decode()[-2000:]}"
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert proc.returncode == 0 and result["ok"], f"node client failed: {result}; stderr: {err.decode()[-2000:]}"
    return result


@pytest.mark.parametrize("transports,first_transport", [("websocket", "websocket"), ("polling", "polling")])
async def test_node_socket_io_client_chats_with_the_gateway(
    gateway: RunningGateway, tenant: Tenant, transports: str, first_transport: str
) -> None:
    result = await run_node_client(gateway.url, tenant.slug, transports)
    assert result["transport_at_open"] == first_transport
    assert result["transport_final"] == "websocket"  # polling upgraded
    ack = result["ack"]
    assert ack["ok"] is True and ack["seq"] == 1 and ack["message_id"] > 0 and ack["duplicate"] is False
    again = result["duplicate_ack"]
    assert again["duplicate"] is True and again["message_id"] == ack["message_id"]
    [conversation] = result["history"]["conversations"]
    assert conversation["id"] == ack["conversation_id"]
    assert [m["text"] for m in conversation["messages"]] == [f"hello from node ({transports})"]
