"""In-process Prometheus metrics: what this process did (ingested, delivered, ran, timed).

Labels are bounded on purpose: tenant slug, channel, reply kind, job kind, outcome — never a customer,
conversation or message id, which would make one series per ticket and sink Prometheus.

Every process (serve, worker, their replicas) is its own scrape target; dashboards add processes up
with ``sum by``. Numbers that must agree across processes and survive restarts (SLA compliance, open
conversations, CSAT, AI outcome rates, outbox backlog) are NOT here: they come from the store through
``gateway.kpi_collector``.

Hooks other rooms call (through the gateway, which passes them in) are the ``record_*`` functions;
counters they feed are created at zero for every tenant (:func:`touch_tenant`), so a dashboard shows
0 instead of "no data" and ``increase()`` sees the first event.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from psycopg import AsyncConnection

from store import kpis
from store.models import Channel, ReplyKind
from store.outbox import Delivery

log = logging.getLogger("switchboard.metrics")
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HUMAN = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 14400.0, 86400.0)
CHANNELS = tuple(c.value for c in Channel)
SUGGESTION_OUTCOMES = ("accepted", "edited", "discarded")
SLA_EVENT_KINDS = ("warning", "breach")
FAILURE_REASONS = ("permanent", "transient")
MODEL_TASKS = ("embed", "classify", "generate")

MESSAGES_RECEIVED = Counter("switchboard_messages_received", "Customer messages stored by ingest (not duplicates)",
                            ["tenant", "channel"], registry=REGISTRY)
MESSAGES_DUPLICATE = Counter("switchboard_messages_duplicate", "Redeliveries ingest recognised and dropped",
                             ["tenant", "channel"], registry=REGISTRY)
MESSAGES_SENT = Counter("switchboard_messages_sent", "Replies a channel accepted (outbox rows delivered)",
                        ["tenant", "channel", "kind"], registry=REGISTRY)
INGEST_SECONDS = Histogram("switchboard_ingest_duration_seconds", "Time ingest took for one inbound message",
                           ["channel"], buckets=FAST, registry=REGISTRY)
REPLY_LATENCY = Histogram(
    "switchboard_reply_latency_seconds",
    "End to end: the answered customer message's created_at to the reply's delivery (outbox rows that answer a "
    "message; author = ai, agent or system)", ["tenant", "channel", "author"], buckets=HUMAN, registry=REGISTRY)
OUTBOX_DELIVERY = Histogram("switchboard_outbox_delivery_seconds", "Outbox row created_at to the channel accepting it",
                            ["channel"], buckets=HUMAN, registry=REGISTRY)
DELIVERY_FAILURES = Counter("switchboard_outbox_delivery_failures",
                            "Failed delivery attempts (permanent = given up; transient = will retry)",
                            ["tenant", "channel", "reason"], registry=REGISTRY)
JOBS = Counter("switchboard_jobs", "Jobs finished by this process", ["kind", "outcome"], registry=REGISTRY)
JOB_SECONDS = Histogram("switchboard_job_duration_seconds", "Time one job took", ["kind"],
                        buckets=(*FAST, 30.0, 60.0), registry=REGISTRY)
SUGGESTIONS = Counter("switchboard_suggestions", "What agents did with an AI draft (accepted, edited, discarded)",
                      ["tenant", "outcome"], registry=REGISTRY)
SLA_EVENTS = Counter("switchboard_sla_events", "SLA warnings sent and breaches detected by the SLA worker",
                     ["tenant", "kind"], registry=REGISTRY)
MODEL_SECONDS = Histogram("switchboard_model_latency_seconds", "One model call (embedding, classifier, LLM)",
                          ["task"], buckets=FAST, registry=REGISTRY)
SOCKET_CONNECTIONS = Gauge("switchboard_socket_connections", "Open Socket.IO connections in this process",
                           ["namespace"], registry=REGISTRY)

_touched: set[str] = set()
for _task in MODEL_TASKS:
    MODEL_SECONDS.labels(_task)


def touch_tenant(slug: str) -> None:
    """Creates the hook-fed counters of a tenant at zero (bounded: a few series per tenant)."""
    if slug in _touched:
        return
    _touched.add(slug)
    for outcome in SUGGESTION_OUTCOMES:
        SUGGESTIONS.labels(slug, outcome)
    for kind in SLA_EVENT_KINDS:
        SLA_EVENTS.labels(slug, kind)
    for channel in CHANNELS:
        for reason in FAILURE_REASONS:
            DELIVERY_FAILURES.labels(slug, channel, reason)


def _kind(value: Any) -> str:
    return value if value in ReplyKind._value2member_map_ else "other"


def _author(value: Any) -> str:
    return value if value in ("ai", "agent", "system") else "other"


def record_ingest(slug: str, channel: Channel, started: float, *, duplicate: bool) -> None:
    """``started`` is a ``time.perf_counter()`` value from before the ingest transaction."""
    touch_tenant(slug)
    INGEST_SECONDS.labels(channel.value).observe(time.perf_counter() - started)
    (MESSAGES_DUPLICATE if duplicate else MESSAGES_RECEIVED).labels(slug, channel.value).inc()


async def record_delivered(conn: AsyncConnection[Any], d: Delivery) -> None:
    """Counts a delivered reply and its latencies. Never raises: metrics must not fail a delivery."""
    try:
        answers = d.payload.get("answers_message_id")
        slug, answered_at = await kpis.delivery_context(conn, d.tenant_id, answers if isinstance(answers, int) else None)
        now = datetime.now(UTC)
        MESSAGES_SENT.labels(slug, d.channel.value, _kind(d.payload.get("kind"))).inc()
        OUTBOX_DELIVERY.labels(d.channel.value).observe(max(0.0, (now - d.created_at).total_seconds()))
        if answered_at is not None:
            REPLY_LATENCY.labels(slug, d.channel.value, _author(d.payload.get("author_kind"))).observe(
                max(0.0, (now - answered_at).total_seconds()))
    except Exception:
        log.warning("recording a delivery's metrics failed", exc_info=True)


async def record_delivery_failure(conn: AsyncConnection[Any], d: Delivery, *, permanent: bool) -> None:
    try:
        slug, _ = await kpis.delivery_context(conn, d.tenant_id, None)
        DELIVERY_FAILURES.labels(slug, d.channel.value, "permanent" if permanent else "transient").inc()
    except Exception:
        log.warning("recording a delivery failure failed", exc_info=True)


def record_job(kind: str, started: float, *, ok: bool) -> None:
    JOB_SECONDS.labels(kind).observe(time.perf_counter() - started)
    JOBS.labels(kind, "done" if ok else "failed").inc()


def record_suggestion(slug: str, outcome: str) -> None:
    """Copilot hook: an agent accepted, edited or discarded an AI draft."""
    if outcome in SUGGESTION_OUTCOMES:
        SUGGESTIONS.labels(slug, outcome).inc()


def record_sla_event(slug: str, kind: str) -> None:
    """SLA worker hook: a warning went out, or a breach was detected."""
    if kind in SLA_EVENT_KINDS:
        SLA_EVENTS.labels(slug, kind).inc()


def record_model_call(task: str, seconds: float) -> None:
    """Agent graph hook (passed in as a callable): one embedding, classifier or LLM call."""
    MODEL_SECONDS.labels(task if task in MODEL_TASKS else "other").observe(seconds)
