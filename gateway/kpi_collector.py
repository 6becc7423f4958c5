"""Business KPIs from the store as Prometheus metrics, identical in every process that exposes them.

prometheus-client collectors are synchronous and our pool is async. Rather than a second, blocking
database connection inside ``collect()`` (which would stall the event loop for every scrape), the
``/metrics`` handler awaits :meth:`StoreKpiCollector.refresh` first: it re-reads ``store.kpis`` at
most once per ``ttl`` seconds (concurrent scrapes share one read) and ``collect()`` only turns the
cached snapshot into metric families. A failed read keeps the last snapshot and reports
``switchboard_kpi_up 0``, so a database hiccup shows as stale-but-flagged rather than as zeros.

Store-derived totals are exposed as counters/histograms (monotonic unless rows are deleted or a
conversation is reopened, which Prometheus treats as a reset); ``*_ratio``/``*_average`` gauges cover
the last ``store.kpis.WINDOW_DAYS`` days. With several processes exposing them, dashboards collapse
the copies with ``max by (tenant, …)``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool

from gateway import metrics
from store import agent_performance, kpis
from store.agent_performance import HandlingKpis
from store.kpis import TenantKpis

log = logging.getLogger("switchboard.kpis")
DEFAULT_TTL_SECONDS = 5.0


class StoreKpiCollector(Collector):
    def __init__(self, pool: AsyncConnectionPool, ttl: float = DEFAULT_TTL_SECONDS) -> None:
        self.pool = pool
        self.ttl = ttl
        self._snapshot: dict[int, TenantKpis] = {}
        self._handling: dict[str, HandlingKpis] = {}  # tenant slug → handling KPIs over the window
        self._read_at = 0.0  # monotonic time of the last successful read
        self._tried_at = float("-inf")
        self._ok = False
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._tried_at < self.ttl:
                return
            self._tried_at = time.monotonic()
            try:
                async with self.pool.connection() as conn:
                    self._snapshot = await asyncio.wait_for(kpis.snapshot(conn), timeout=10)
                    now = datetime.now(UTC)
                    self._handling = await asyncio.wait_for(agent_performance.handling_snapshot(
                        conn, now - timedelta(days=kpis.WINDOW_DAYS), now), timeout=10)
                self._read_at, self._ok = time.monotonic(), True
            except Exception:
                self._ok = False
                log.warning("reading KPIs from the store failed; serving the last values", exc_info=True)
        for k in self._snapshot.values():
            metrics.touch_tenant(k.slug)

    def collect(self) -> Iterator[Metric]:
        snap = list(self._snapshot.values())
        yield GaugeMetricFamily("switchboard_kpi_up", "1 if the last KPI read from the store succeeded", value=int(self._ok))
        yield GaugeMetricFamily("switchboard_kpi_age_seconds", "Age of the KPI values served",
                                value=time.monotonic() - self._read_at if self._read_at else 0.0)
        yield from _conversations(snap)
        yield from _sla(snap)
        yield from _ai(snap)
        yield from _csat(snap)
        yield from _durations(snap)
        yield from _outbox(snap)
        yield from _handling(self._handling)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def _counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels)


def _conversations(snap: list[TenantKpis]) -> Iterator[Metric]:
    open_ = _gauge("switchboard_conversations_open", "Open conversations now, by urgency", ["tenant", "urgency"])
    total = _counter("switchboard_conversations", "Conversations ever created", ["tenant"])
    auto = _counter("switchboard_conversations_auto_resolved", "Resolved without a human (never handed off)", ["tenant"])
    handed = _counter("switchboard_conversations_handed_off", "Conversations that went to a human", ["tenant"])
    for k in snap:
        for urgency, n in k.open_by_urgency.items():
            open_.add_metric([k.slug, urgency], n)
        total.add_metric([k.slug], k.conversations)
        auto.add_metric([k.slug], k.auto_resolved)
        handed.add_metric([k.slug], k.handed_off)
    yield from (open_, total, auto, handed)
    auto_r = _gauge("switchboard_auto_resolution_ratio", f"Auto-resolved / conversations, last {kpis.WINDOW_DAYS} days",
                    ["tenant"])
    hand_r = _gauge("switchboard_handoff_ratio", f"Handed off / conversations, last {kpis.WINDOW_DAYS} days", ["tenant"])
    for k in snap:
        if k.auto_resolution_ratio is not None:
            auto_r.add_metric([k.slug], k.auto_resolution_ratio)
        if k.handoff_ratio is not None:
            hand_r.add_metric([k.slug], k.handoff_ratio)
    yield from (auto_r, hand_r)


def _sla(snap: list[TenantKpis]) -> Iterator[Metric]:
    outcomes = _counter("switchboard_sla_outcomes", "Conversations per SLA target and outcome (met, breached, pending)",
                        ["tenant", "target", "outcome"])
    compliance = _gauge("switchboard_sla_compliance_ratio",
                        f"Met / (met + breached), conversations of the last {kpis.WINDOW_DAYS} days", ["tenant", "target"])
    for k in snap:
        for target in kpis.SLA_TARGETS:
            for outcome in ("met", "breached", "pending"):
                outcomes.add_metric([k.slug, target, outcome], k.sla_outcomes.get((target, outcome), 0))
            if target in k.sla_compliance:
                compliance.add_metric([k.slug, target], k.sla_compliance[target])
    yield from (outcomes, compliance)


def _ai(snap: list[TenantKpis]) -> Iterator[Metric]:
    decisions = _counter("switchboard_agent_decisions", "Agent graph runs by decision (answer = auto-resolved reply, "
                         "suggest = draft for an agent, clarify = one clarify turn, handoff)", ["tenant", "decision"])
    safety = _counter("switchboard_safety_overrides", "Times a safety rule overrode the graph", ["tenant", "action"])
    classified = _counter("switchboard_classifications", "Customer messages the graph classified", ["tenant"])
    overrides = _counter("switchboard_classification_overrides", "Classifications corrected by agents",
                         ["tenant", "field"])
    adoption = _counter("switchboard_suggestion_outcomes", "AI drafts agents sent as is, edited, or discarded "
                        "(from the store)", ["tenant", "outcome"])
    ratio = _gauge("switchboard_classification_override_ratio",
                   f"Overrides / classifications, last {kpis.WINDOW_DAYS} days", ["tenant"])
    for k in snap:
        for decision, n in k.decisions.items():
            decisions.add_metric([k.slug, decision], n)
        for action, n in k.safety_firings.items():
            safety.add_metric([k.slug, action], n)
        classified.add_metric([k.slug], k.classifications)
        for fld, n in k.overrides.items():
            overrides.add_metric([k.slug, fld], n)
        if k.override_ratio is not None:
            ratio.add_metric([k.slug], k.override_ratio)
        for outcome, n in k.suggestions.items():
            adoption.add_metric([k.slug, outcome], n)
    yield from (decisions, safety, classified, overrides, ratio, adoption)


def _csat(snap: list[TenantKpis]) -> Iterator[Metric]:
    hist = HistogramMetricFamily("switchboard_csat_score", "CSAT answers (1–5), all time", labels=["tenant", "channel"])
    avg = _gauge("switchboard_csat_average", f"Mean CSAT score, last {kpis.WINDOW_DAYS} days", ["tenant", "channel"])
    for k in snap:
        for channel, h in k.csat.items():
            buckets = [(str(float(b)), n) for b, n in zip(kpis.CSAT_SCORES, h.buckets, strict=True)]
            hist.add_metric([k.slug, channel], [*buckets, ("+Inf", h.count)], h.total)
        for channel, mean in k.csat_average.items():
            avg.add_metric([k.slug, channel], mean)
    yield from (hist, avg)


def _durations(snap: list[TenantKpis]) -> Iterator[Metric]:
    for name, attr, doc in (("switchboard_first_response_seconds", "first_response",
                             "Conversation created to first human/AI reply, all time"),
                            ("switchboard_resolution_seconds", "resolution", "Conversation created to resolved, all time")):
        fam = HistogramMetricFamily(name, doc, labels=["tenant", "channel"])
        for k in snap:
            for channel, h in getattr(k, attr).items():
                buckets = [(str(b), n) for b, n in zip(kpis.DURATION_BUCKETS, h.buckets, strict=True)]
                fam.add_metric([k.slug, channel], [*buckets, ("+Inf", h.count)], h.total)
        yield fam


def _outbox(snap: list[TenantKpis]) -> Iterator[Metric]:
    backlog = _gauge("switchboard_outbox_backlog", "Deliveries waiting in the outbox", ["tenant", "channel"])
    oldest = _gauge("switchboard_outbox_oldest_pending_seconds", "Age of the oldest waiting delivery",
                    ["tenant", "channel"])
    for k in snap:
        for channel in metrics.CHANNELS:
            backlog.add_metric([k.slug, channel], k.outbox_backlog.get(channel, 0))
            oldest.add_metric([k.slug, channel], k.outbox_oldest_seconds.get(channel, 0.0))
    yield from (backlog, oldest)


def _handling(handling: dict[str, HandlingKpis]) -> Iterator[Metric]:
    """Handle time, AI vs human first response and CSAT, cost per resolution (``store.agent_performance``)."""
    days = kpis.WINDOW_DAYS
    aht = _gauge("switchboard_handle_time_average_seconds",
                 f"Mean time an agent actively worked a conversation, conversations of the last {days} days", ["tenant"])
    first = _gauge("switchboard_first_response_average_seconds",
                   f"Mean created → first response, by who wrote it (ai, human), last {days} days", ["tenant", "author"])
    csat = _gauge("switchboard_csat_by_resolver_average",
                  f"Mean CSAT of AI-resolved vs human-resolved conversations, last {days} days", ["tenant", "resolved_by"])
    cost = _gauge("switchboard_cost_per_resolution",
                  f"(Agent hours × agent_hour + AI runs × ai_run) / resolved, tenant cost inputs, last {days} days",
                  ["tenant"])
    for slug, k in handling.items():
        if k.handle_time_average_seconds is not None:
            aht.add_metric([slug], k.handle_time_average_seconds)
        for who, mean in k.first_response_average_seconds.items():
            first.add_metric([slug, who], mean)
        for who, mean in k.csat_average.items():
            csat.add_metric([slug, who], mean)
        if k.cost_per_resolution is not None:
            cost.add_metric([slug], k.cost_per_resolution)
    yield from (aht, first, csat, cost)
