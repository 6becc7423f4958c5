"""Hostile Slack Events API requests against a running gateway: signed but malformed, huge, nested, unsigned.

Property: the HTTP answer is 200 (acknowledged), 400 (not JSON), 401 (not signed by the workspace) or
413 (over the body limit) — never 5xx, never slow — and a signed event that was acknowledged is then
processed to an end (``done`` or ``ignored``) without an exception: an event that raises is retried
by the sweeper again and again, which for malformed input is a loop, not a recovery. Unsigned
requests leave nothing behind.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import psycopg
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from store import db, slack_workspaces
from store.tenants import Tenant
from tests.channels.test_slack import sample, sign
from tests.hostile.conftest import FUZZ, AsyncRunner, Served
from tests.servers.procs import free_port, wait_until

pytestmark = pytest.mark.timeout(150)
TEAM = "T111"
SECRET = "hostile-signing-secret-0123456789"
ENV = {f"SLACK_{TEAM}_SIGNING_SECRET": SECRET, f"SLACK_{TEAM}_BOT_TOKEN": "xoxb-hostile"}
EDGE = ["\x00", "\ud800", "a" * 100_000, "1e400", "-1", "NaN", "1596183880.004200\x00", "<@UBOT>", "", " ",
        "9" * 400, "1596183880.0042001596183880", "\u202e", "../"]

leaf = st.none() | st.booleans() | st.integers(min_value=-2**80, max_value=2**80) | st.floats() | \
    st.text(max_size=20) | st.sampled_from(EDGE)
value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=3), max_leaves=20)
EVENT_FIELDS = ["type", "subtype", "text", "user", "ts", "thread_ts", "channel", "channel_type", "files", "team",
                "user_team", "message", "previous_message", "deleted_ts", "bot_id", "event_ts", "blocks"]
TOP_FIELDS = ["type", "event", "event_id", "event_time", "team_id", "challenge"]


def deep(depth: int) -> Any:
    v: Any = 1
    for _ in range(depth):
        v = [v]
    return v


@st.composite
def signed_body(draw: st.DrawFn) -> dict[str, Any]:
    """A real DM event with some fields replaced by hostile values; the event id stays unique."""
    body = copy.deepcopy(sample("event_callback_message.json"))
    body["event"].update(channel="D111", channel_type="im")
    body["event_id"] = f"Ev{draw(st.uuids()).hex}"
    for name in draw(st.lists(st.sampled_from(EVENT_FIELDS), max_size=4, unique=True)):
        body["event"][name] = draw(value)
    for name in draw(st.lists(st.sampled_from(TOP_FIELDS[:5]), max_size=2, unique=True)):
        if name != "team_id" and name != "event_id":
            body[name] = draw(value)
    if draw(st.booleans()):
        body["event"]["files"] = draw(st.lists(st.dictionaries(st.sampled_from(["name", "size", "mimetype"]), leaf),
                                               max_size=3))
    return body


def _post(url: str, raw: bytes, headers: dict[str, str]) -> Any:
    async def go() -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.post(
                f"{url}/slack/events", data=raw, headers={"Content-Type": "application/json", **headers},
                timeout=aiohttp.ClientTimeout(total=15)) as resp:
            return resp.status, await resp.text()
    return go()


def _event(dsn: str, event_id: Any) -> tuple[str, str | None] | None:
    if not isinstance(event_id, str) or "\x00" in event_id:
        return None
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT status, last_error FROM slack_events WHERE event_id = %s",
                           (event_id.encode("utf-8", "replace").decode(),)).fetchone()
    return (str(row[0]), row[1]) if row else None


@pytest.fixture
def workspace(dsn: str, tenant: Tenant, runner: AsyncRunner) -> Iterator[None]:
    async def register() -> None:
        pool = await db.open_pool(dsn, max_size=1)
        try:
            async with pool.connection() as conn:
                await slack_workspaces.register(conn, tenant.id, TEAM, bot_token_env=f"SLACK_{TEAM}_BOT_TOKEN",
                                                signing_secret_env=f"SLACK_{TEAM}_SIGNING_SECRET",
                                                bot_user_id="UBOT", api_base_url=f"http://127.0.0.1:{free_port()}/api/")
        finally:
            await pool.close()
    runner.run(register())
    yield


@pytest.mark.parametrize("served", [ENV], indirect=True)
def test_hostile_slack_events_are_answered_4xx_or_processed_to_an_end(
        workspace: None, served: Served, dsn: str, runner: AsyncRunner) -> None:
    statuses: dict[int, int] = {}

    @FUZZ
    @given(st.one_of(signed_body().map(lambda b: ("signed", b)),
                     st.tuples(st.sampled_from(["signed", "unsigned", "bad_signature"]), value)))
    @example(("raw", b'{"type": "event_callback", "team_id": "T111", "event_id": "EvDeep", "event": '
              + b"[" * 5000 + b"]" * 5000 + b"}"))
    @example(("signed", {"type": "event_callback", "team_id": TEAM, "event_id": "EvNested", "event": deep(200)}))
    @example(("signed", {**copy.deepcopy(sample("event_callback_message.json")), "event_id": "EvFiles",
                         "event_time": 1e308, "event": {"type": "message", "channel": "D111", "channel_type": "im",
                                                        "user": "W111", "ts": "1596183880.004200", "text": "hi",
                                                        "files": [{"name": "a", "size": "big"}, {"size": 1e300}]}}))
    @example(("raw", b"{not json"))
    @example(("raw", b"[" * 100_000))
    @example(("raw", b'{"a": "' + b"x" * 2_000_000 + b'"}'))
    @example(("unsigned", {"type": "event_callback", "team_id": TEAM, "event_id": "EvUnsigned", "event": {}}))
    def check(case: tuple[str, Any]) -> None:
        how, body = case
        raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8", "surrogatepass")
        headers = sign(SECRET, raw) if how in ("signed", "raw") else {}
        if how == "bad_signature":
            headers = sign("not-the-secret-000000000000000", raw)
        started = time.monotonic()
        status, text = runner.run(_post(served.url, raw, headers))
        assert time.monotonic() - started < 10
        statuses[status] = statuses.get(status, 0) + 1
        assert status in (200, 400, 401, 413), (status, text[:300])
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if how != "signed" or not isinstance(body, dict) or body.get("type") != "event_callback":
            assert how == "signed" or _event(dsn, event_id) is None
            return
        if status == 200 and isinstance(event_id, str) and isinstance(body.get("event"), dict):
            wait_until(lambda: (_event(dsn, event_id) or ("pending",))[0] != "pending" or
                       (_event(dsn, event_id) or ("", None))[1] is not None, timeout=10, what=f"event {event_id}")
            found = _event(dsn, event_id)
            assert found is not None and found[0] in ("done", "ignored") and found[1] is None, found
        assert served.proc.poll() is None

    check()
    assert served.healthy()
    assert statuses.get(200) and statuses.get(401), statuses
