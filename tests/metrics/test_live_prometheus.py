"""A real Prometheus scrapes a real gateway after a multi-channel scenario; every dashboard query and
alert expression is evaluated through Prometheus's HTTP API, and the panel queries must return data.

The gateway serves from this test's event loop, so waiting on Prometheus is async (the loop must keep
answering scrapes) and always has a deadline.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from psycopg_pool import AsyncConnectionPool

from dashboards import build
from gateway.ingest import ingest
from gateway.replies import send_reply
from store import triage
from store.models import AuthorKind, Reply, ReplyKind
from store.tenants import Tenant
from tests import factories
from tests.channels.test_chat import Visitor, session_token
from tests.ops import seed
from tests.servers import prometheus
from tests.servers.gateway import RunningGateway, running_gateway

pytestmark = pytest.mark.skipif(not prometheus.available(),
                                reason="Debian's prometheus package is not installed; ./run test installs it")
TOKEN = "metrics-scrape-token-for-tests-0123456789"
RATE_INTERVAL = "1m"


async def eventually(check: Any, *, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.5)


def panel_queries(slug: str) -> list[tuple[str, str]]:
    """(where, PromQL) for every dashboard panel target, with Grafana variables substituted."""
    out = []
    for uid, (_, panels) in build.DASHBOARDS.items():
        for spec in panels:
            for query in spec.queries:
                expr = query.expr.replace("$tenant", slug).replace("$__rate_interval", RATE_INTERVAL)
                out.append((f"{uid} / {spec.title}", expr))
    return out


def alert_expressions() -> list[tuple[str, str]]:
    doc = yaml.safe_load((prometheus.DASHBOARDS / "alerts.yml").read_text())
    return [(rule["alert"], rule["expr"]) for group in doc["groups"] for rule in group["rules"]]


async def scenario(gw: RunningGateway, pool: AsyncConnectionPool, tenant: Tenant) -> dict[str, set[int]]:
    """Email, form and Slack through ingest; chat through a Socket.IO visitor; agent replies; CSAT."""
    ids: dict[str, set[int]] = {"conversation": set(), "message": set(), "customer": set()}

    def keep(result: Any) -> Any:
        ids["conversation"].add(result.conversation_id)
        ids["message"].add(result.message_id)
        ids["customer"].add(result.customer_id)
        return result

    mail = keep(await ingest(pool, factories.email(tenant.id, "ann@customer.test", "I was charged twice")))
    await ingest(pool, factories.email(tenant.id, "ann@customer.test", "I was charged twice",
                                       message_id=(await _external_id(pool, mail.message_id))))  # a redelivery
    form = keep(await ingest(pool, factories.form(tenant.id, "bob@customer.test", "How do I export my data?")))
    keep(await ingest(pool, factories.slack(tenant.id, "T1", "U1", "Is the API down?")))

    token = await session_token(gw.url, tenant.slug)
    visitor = Visitor()
    await visitor.connect(gw.url, token["token"])
    try:
        sent = await visitor.call("message", {"client_id": "m-1", "text": "My invoice is wrong"})
        assert sent["ok"], sent
        chat_conv, chat_msg = sent["conversation_id"], sent["message_id"]
        ids["conversation"].add(chat_conv)
        ids["message"].add(chat_msg)
        async with pool.connection() as conn:
            # SLA dues as the SLA worker would set them: the email one already missed, the chat one ahead.
            await conn.execute("UPDATE conversations SET sla_first_response_due = created_at - interval '1 minute'"
                               " WHERE tenant_id = %s AND id = %s", (tenant.id, mail.conversation_id))
            await conn.execute("UPDATE conversations SET sla_first_response_due = created_at + interval '1 hour',"
                               " sla_resolution_due = created_at + interval '1 day' WHERE tenant_id = %s AND id = %s",
                               (tenant.id, chat_conv))
        assert (await visitor.call("action", {"conversation_id": chat_conv, "action_id": "talk_to_human"}))["ok"]
        agent_id = await seed.agent(pool, tenant.id, "ann")  # a named author: handle time is per agent
        async with pool.connection() as conn, conn.transaction():
            for conv, answered in ((chat_conv, chat_msg), (mail.conversation_id, mail.message_id)):
                reply = Reply(ReplyKind.ANSWER, "Sorry about that — I have corrected it.")
                msg = await send_reply(conn, tenant.id, conv, reply, author_kind=AuthorKind.AGENT, author_id=agent_id,
                                       answers_message_id=answered, base_url=gw.url)
                ids["message"].add(msg.id)
            await triage.record_run(conn, tenant.id, form.conversation_id, form.message_id, decision="clarify",
                                    acted=True, reason="which export format?", confidence=0.5, reply_message_id=None,
                                    backend="test")
            cur = await conn.execute(
                "INSERT INTO message_classifications (tenant_id, conversation_id, message_id, category,"
                " category_confidence, urgency, urgency_confidence, sentiment, sentiment_confidence, complexity,"
                " language, language_confidence, backend) VALUES (%s, %s, %s, 'account', 0.6, 'low', 0.7,"
                " 'neutral', 0.8, 'simple', 'en', 0.9, 'test') ON CONFLICT (tenant_id, message_id)"
                " DO UPDATE SET backend = excluded.backend RETURNING id", (tenant.id, form.conversation_id, form.message_id))
            row = await cur.fetchone()
            assert row is not None
            await conn.execute("INSERT INTO classification_overrides (tenant_id, classification_id, field, old_value,"
                               " new_value) VALUES (%s, %s, 'category', 'account', 'product_question')",
                               (tenant.id, row["id"]))
        await visitor.wait_for(lambda m: m.get("kind") == "answer" or "corrected" in str(m.get("text", "")))
        assert (await visitor.call("action", {"conversation_id": chat_conv, "action_id": "solved"}))["ok"]
        assert (await visitor.call("action", {"conversation_id": chat_conv, "action_id": "csat_4"}))["ok"]
    finally:
        await visitor.sio.disconnect()
    return ids


async def _external_id(pool: AsyncConnectionPool, message_id: int) -> str:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT external_id FROM messages WHERE id = %s", (message_id,))
        row = await cur.fetchone()
        assert row is not None
        return str(row["external_id"])


async def scrape(url: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics", headers=headers) as resp:
        return resp.status, await resp.text()


TENANT_SLUG = re.compile(r"[a-z][a-z0-9-]{1,62}")
BOUNDED_LABELS = {"tenant", "channel", "kind", "author", "outcome", "reason", "urgency", "target", "decision",
                  "action", "field", "namespace", "task", "le", "resolved_by"}


def assert_no_ids_in_labels(exposition: str, slug: str) -> None:
    """Every Switchboard label is a known bounded one; values are the tenant slug or enum-like words."""
    for family in text_string_to_metric_families(exposition):
        if not family.name.startswith("switchboard_"):
            continue
        for sample in family.samples:
            for name, value in sample.labels.items():
                where = f"{sample.name}{{{name}={value!r}}}"
                assert name in BOUNDED_LABELS, f"{where}: unexpected label"
                if name == "tenant":
                    # Counters are process-wide, so earlier tests' tenants may appear: each must still
                    # be a tenant slug, never an id.
                    assert value == slug or TENANT_SLUG.fullmatch(value), where
                elif name != "le":
                    assert re.fullmatch(r"[a-z][a-z_]*", value), f"{where}: not an enum-like value"


async def test_prometheus_scrapes_the_gateway_and_every_query_works(
        pool: AsyncConnectionPool, dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    async with running_gateway(pool, dsn, tmp_path / "gw", metrics_token=TOKEN) as gw:
        await scenario(gw, pool, tenant)

        status, _ = await scrape(gw.url, None)
        assert status == 401
        status, _ = await scrape(gw.url, "not-the-token-000000000000")
        assert status == 401
        status, exposition = await scrape(gw.url, TOKEN)
        assert status == 200
        assert f'switchboard_messages_received_total{{channel="email",tenant="{tenant.slug}"}} 1.0' in exposition
        assert_no_ids_in_labels(exposition, tenant.slug)

        target = gw.url.removeprefix("http://")
        with prometheus.running_prometheus(tmp_path / "prom", target, TOKEN) as prom:
            checked = prometheus.promtool("check", "config", str(prom.config_path))
            assert checked.returncode == 0, checked.stdout + checked.stderr

            async def query(expr: str) -> dict[str, Any]:
                return await asyncio.to_thread(prom.query, expr)

            async def target_up() -> bool:
                return await asyncio.to_thread(prom.targets_up)

            await eventually(target_up, within=30, what="Prometheus to scrape the gateway with the token")

            for name, expr in alert_expressions():
                result = await query(expr)
                assert result["status"] == "success", f"alert {name}: {result.get('error')}"

            missing: list[str] = []

            async def all_panels_have_data() -> bool:
                missing.clear()
                for where, expr in panel_queries(tenant.slug):
                    result = await query(expr)
                    assert result["status"] == "success", f"{where}: {result.get('error')}\n{expr}"
                    if not result["data"]["result"]:
                        missing.append(f"{where}: {expr}")
                return not missing

            try:
                await eventually(all_panels_have_data, within=60, what="every panel query to return data")
            except TimeoutError:
                pytest.fail("panel queries without data:\n" + "\n".join(missing))

            compliance = await query(f'switchboard_sla_compliance_ratio{{tenant="{tenant.slug}",'
                                     f'target="first_response"}}')
            assert float(compliance["data"]["result"][0]["value"][1]) == pytest.approx(0.5)
            csat = await query(f'switchboard_csat_average{{tenant="{tenant.slug}"}}')
            assert [float(r["value"][1]) for r in csat["data"]["result"]] == [4.0]
