"""Grafana dashboards as code (grafana-foundation-sdk); ``python -m dashboards.build`` rewrites the JSON.

The JSON files beside this module are committed so any Grafana 10+ can load them through the
provisioning files without Python; a test regenerates them in memory and fails if they are stale.

Query conventions, because a deployment has one scrape target per process:
* in-process counters (messages, deliveries, latencies) are added up across processes: ``sum by``;
* store-backed KPIs are the same in every process that exposes them: ``max by (tenant, …)`` first
  collapses the copies, then tenants are combined.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh

HERE = Path(__file__).resolve().parent
DATASOURCE_UID = "switchboard-prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
T = 'tenant=~"$tenant"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class PanelSpec:
    title: str
    kind: str  # "stat" or "timeseries"
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    width: int = 12


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


SLA_CSAT = (
    PanelSpec("First-response SLA compliance (7 days)", "stat", "percentunit", (
        q(f'avg(max by (tenant) (switchboard_sla_compliance_ratio{{{T}, target="first_response"}}))'),),
        "Met / (met + breached) for conversations created in the last 7 days.", 6),
    PanelSpec("Resolution SLA compliance (7 days)", "stat", "percentunit", (
        q(f'avg(max by (tenant) (switchboard_sla_compliance_ratio{{{T}, target="resolution"}}))'),), "", 6),
    PanelSpec("Open conversations by urgency", "stat", "short", (
        q(f'sum by (urgency) (max by (tenant, urgency) (switchboard_conversations_open{{{T}}}))', "{{urgency}}"),),
        "", 12),
    PanelSpec("SLA breaches per hour", "timeseries", "short", (
        q(f'sum by (target) (max by (tenant, target) '
          f'(increase(switchboard_sla_outcomes_total{{{T}, outcome="breached"}}[1h])))', "{{target}}"),),
        "Conversations whose first response or resolution passed its due time."),
    PanelSpec("SLA warnings and breaches detected (worker)", "timeseries", "short", (
        q(f'sum by (kind) (increase(switchboard_sla_events_total{{{T}}}[1h]))', "{{kind}}"),)),
    PanelSpec("Time to first response", "timeseries", "s", (
        q(f'histogram_quantile(0.5, sum by (le) (max by (tenant, channel, le) '
          f'(switchboard_first_response_seconds_bucket{{{T}}})))', "median (all time)"),
        q(f'histogram_quantile(0.9, sum by (le) (max by (tenant, channel, le) '
          f'(switchboard_first_response_seconds_bucket{{{T}}})))', "p90 (all time)"),
        q(f'sum(max by (tenant, channel) (increase(switchboard_first_response_seconds_sum{{{T}}}[1d]))) / '
          f'sum(max by (tenant, channel) (increase(switchboard_first_response_seconds_count{{{T}}}[1d])))',
          "mean (last day)"),)),
    PanelSpec("Time to resolution (median, p90)", "timeseries", "s", (
        q(f'histogram_quantile(0.5, sum by (le) (max by (tenant, channel, le) '
          f'(switchboard_resolution_seconds_bucket{{{T}}})))', "median"),
        q(f'histogram_quantile(0.9, sum by (le) (max by (tenant, channel, le) '
          f'(switchboard_resolution_seconds_bucket{{{T}}})))', "p90"),)),
    PanelSpec("CSAT average by channel (7 days)", "timeseries", "short", (
        q(f'avg by (channel) (max by (tenant, channel) (switchboard_csat_average{{{T}}}))', "{{channel}}"),),
        "Mean of 1–5 answers, per channel the conversation was last on."),
    PanelSpec("CSAT answers by score", "stat", "short", (
        q(f'sum by (le) (max by (tenant, channel, le) (switchboard_csat_score_bucket{{{T}}}))', "≤ {{le}}"),),
        "Cumulative: answers with a score at most this value."),
    PanelSpec("First response: AI vs human (7 days)", "timeseries", "s", (
        q(f'avg by (author) (max by (tenant, author) (switchboard_first_response_average_seconds{{{T}}}))',
          "{{author}}"),),
        "Mean created → first response, by who wrote the first response."),
    PanelSpec("CSAT: AI-resolved vs human-resolved (7 days)", "timeseries", "short", (
        q(f'avg by (resolved_by) (max by (tenant, resolved_by) (switchboard_csat_by_resolver_average{{{T}}}))',
          "{{resolved_by}}"),),
        "AI-resolved: never handed off and no human wrote; everything else resolved is human-resolved."),
)

OPERATIONS = (
    PanelSpec("Inbound messages per minute by channel", "timeseries", "cpm", (
        q(f'sum by (channel) (rate(switchboard_messages_received_total{{{T}}}[$__rate_interval])) * 60',
          "{{channel}}"),)),
    PanelSpec("Replies delivered per minute by channel and kind", "timeseries", "cpm", (
        q(f'sum by (channel, kind) (rate(switchboard_messages_sent_total{{{T}}}[$__rate_interval])) * 60',
          "{{channel}} {{kind}}"),)),
    PanelSpec("Open conversations", "timeseries", "short", (
        q(f'sum(max by (tenant, urgency) (switchboard_conversations_open{{{T}}}))', "open"),)),
    PanelSpec("Outbox backlog by channel", "timeseries", "short", (
        q(f'sum by (channel) (max by (tenant, channel) (switchboard_outbox_backlog{{{T}}}))', "{{channel}}"),)),
    PanelSpec("Oldest waiting delivery", "timeseries", "s", (
        q(f'max by (channel) (switchboard_outbox_oldest_pending_seconds{{{T}}})', "{{channel}}"),)),
    PanelSpec("Delivery failures per hour", "timeseries", "short", (
        q(f'sum by (channel, reason) (increase(switchboard_outbox_delivery_failures_total{{{T}}}[1h]))',
          "{{channel}} {{reason}}"),)),
    PanelSpec("Reply latency (customer message → delivered)", "timeseries", "s", (
        q(f'histogram_quantile(0.5, sum by (le, channel) '
          f'(rate(switchboard_reply_latency_seconds_bucket{{{T}}}[$__rate_interval])))', "p50 {{channel}}"),
        q(f'histogram_quantile(0.95, sum by (le, channel) '
          f'(rate(switchboard_reply_latency_seconds_bucket{{{T}}}[$__rate_interval])))', "p95 {{channel}}"),)),
    PanelSpec("Ingest latency p95 by channel", "timeseries", "s", (
        q('histogram_quantile(0.95, sum by (le, channel) '
          '(rate(switchboard_ingest_duration_seconds_bucket[$__rate_interval])))', "{{channel}}"),),
        "All tenants: ingest time does not depend on the tenant."),
    PanelSpec("Socket connections", "timeseries", "short", (
        q('sum by (namespace) (switchboard_socket_connections)', "{{namespace}}"),)),
    PanelSpec("Gateway processes up", "stat", "short", (
        q('sum(up{job="switchboard"})', "up"),)),
    PanelSpec("Average handle time (7 days)", "stat", "s", (
        q(f'avg(max by (tenant) (switchboard_handle_time_average_seconds{{{T}}}))'),),
        "Time agents actively worked a conversation: each reply's gap since the previous event, capped at 10 min.",
        6),
    PanelSpec("Cost per resolution (7 days)", "stat", "short", (
        q(f'avg(max by (tenant) (switchboard_cost_per_resolution{{{T}}}))'),),
        "(Agent hours × agent_hour + AI runs × ai_run) / resolved; cost inputs are the tenant's costs setting.", 6),
)

AI_QUALITY = (
    PanelSpec("Auto-resolution rate (7 days)", "stat", "percentunit", (
        q(f'avg(max by (tenant) (switchboard_auto_resolution_ratio{{{T}}}))'),),
        "Resolved without a human and never handed off / conversations created.", 6),
    PanelSpec("Handoff rate (7 days)", "stat", "percentunit", (
        q(f'avg(max by (tenant) (switchboard_handoff_ratio{{{T}}}))'),), "", 6),
    PanelSpec("Classification override rate (7 days)", "stat", "percentunit", (
        q(f'avg(max by (tenant) (switchboard_classification_override_ratio{{{T}}}))'),),
        "Share of classified messages an agent corrected: production accuracy is 1 minus this.", 6),
    PanelSpec("Clarify turns per hour", "stat", "short", (
        q(f'sum(max by (tenant) (increase(switchboard_agent_decisions_total{{{T}, decision="clarify"}}[1h])))'),),
        "", 6),
    PanelSpec("Agent decisions per hour", "timeseries", "short", (
        q(f'sum by (decision) (max by (tenant, decision) '
          f'(increase(switchboard_agent_decisions_total{{{T}}}[1h])))', "{{decision}}"),),
        "answer = auto-resolved reply, suggest = draft for an agent, clarify, handoff."),
    PanelSpec("Suggestion adoption (all time)", "timeseries", "short", (
        q(f'sum by (outcome) (max by (tenant, outcome) (switchboard_suggestion_outcomes_total{{{T}}}))',
          "{{outcome}}"),),
        "AI drafts agents sent as is (accepted), edited, or discarded; from the store."),
    PanelSpec("Classification overrides by field (all time)", "timeseries", "short", (
        q(f'sum by (field) (max by (tenant, field) (switchboard_classification_overrides_total{{{T}}}))',
          "{{field}}"),)),
    PanelSpec("Safety-rule overrides per hour", "timeseries", "short", (
        q(f'sum by (action) (max by (tenant, action) '
          f'(increase(switchboard_safety_overrides_total{{{T}}}[1h])))', "{{action}}"),)),
    PanelSpec("Model latency p95 by task", "timeseries", "s", (
        q('histogram_quantile(0.95, sum by (le, task) '
          '(rate(switchboard_model_latency_seconds_bucket[$__rate_interval])))', "{{task}}"),)),
)

DASHBOARDS: dict[str, tuple[str, tuple[PanelSpec, ...]]] = {
    "switchboard-sla-csat": ("Switchboard · SLA & CSAT", SLA_CSAT),
    "switchboard-operations": ("Switchboard · Operations", OPERATIONS),
    "switchboard-ai-quality": ("Switchboard · AI quality", AI_QUALITY),
}


def _target(i: int, query: Query) -> prometheus.Dataquery:
    t = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + i)).datasource(DATASOURCE).range()
    return t.legend_format(query.legend) if query.legend else t


def _panel(spec: PanelSpec, panel_id: int) -> gd.Panel:
    p: Any
    if spec.kind == "stat":
        p = stat.Panel().reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"])).graph_mode(
            cm.BigValueGraphMode.AREA)
    else:
        p = timeseries.Panel().legend(common.VizLegendOptions().show_legend(True).display_mode(
            cm.LegendDisplayMode.LIST).placement(cm.LegendPlacement.BOTTOM)).tooltip(
            common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI))
    p = p.id(panel_id).title(spec.title).datasource(DATASOURCE).unit(spec.unit).height(8).span(spec.width)
    if spec.description:
        p = p.description(spec.description)
    for i, query in enumerate(spec.queries):
        p = p.with_target(_target(i, query))
    return p


def tenant_variable() -> gd.QueryVariable:
    return (gd.QueryVariable("tenant").label("Tenant").datasource(DATASOURCE)
            .query({"query": "label_values(switchboard_conversations_open, tenant)", "refId": "tenant"})
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).include_all(True).all_value(".*").multi(False))


def build_dashboard(uid: str, title: str, panels: tuple[PanelSpec, ...]) -> dict[str, Any]:
    d = (gd.Dashboard(title).uid(uid).tags(["switchboard"]).refresh("30s").time("now-24h", "now")
         .timezone("browser").with_variable(tenant_variable()))
    for n, spec in enumerate(panels, start=1):
        d = d.with_panel(_panel(spec, n))
    return json.loads(json.dumps(d.build(), cls=JSONEncoder))


def render_all() -> dict[Path, str]:
    """File path → JSON text, exactly as committed."""
    return {HERE / f"{uid}.json": json.dumps(build_dashboard(uid, title, panels), indent=2, sort_keys=True,
                                             ensure_ascii=False) + "\n"
            for uid, (title, panels) in DASHBOARDS.items()}


def main() -> int:
    for path, text in render_all().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
