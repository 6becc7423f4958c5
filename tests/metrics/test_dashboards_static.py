"""Dashboards, provisioning and alert rules checked without a gateway: fresh JSON, sound structure, promtool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dashboards import build
from tests.servers import prometheus

DASHBOARDS = Path(build.__file__).resolve().parent
needs_promtool = pytest.mark.skipif(not prometheus.available(),
                                    reason="Debian's prometheus package (promtool) is not installed; ./run test installs it")


def committed() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def test_committed_json_matches_the_generator() -> None:
    rendered = build.render_all()
    assert {p.name for p in rendered} == {p.name for p in DASHBOARDS.glob("*.json")}
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python -m dashboards.build"


def provisioned_datasource_uids() -> set[str]:
    doc = yaml.safe_load((DASHBOARDS / "provisioning/datasources/prometheus.yaml").read_text())
    return {ds["uid"] for ds in doc["datasources"] if ds["type"] == "prometheus"}


def test_three_dashboards_each_with_a_tenant_variable() -> None:
    boards = committed()
    assert set(boards) == {"switchboard-sla-csat", "switchboard-operations", "switchboard-ai-quality"}
    for uid, board in boards.items():
        assert board["uid"] == uid
        names = [v["name"] for v in board["templating"]["list"]]
        assert "tenant" in names, uid


def test_panels_are_structurally_sound() -> None:
    uids = provisioned_datasource_uids()
    assert uids == {build.DATASOURCE_UID}
    for uid, board in committed().items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{uid}: duplicate panel ids"
        for var in board["templating"]["list"]:
            assert var["datasource"]["uid"] in uids
        for panel in board["panels"]:
            where = f"{uid}/{panel['title']}"
            assert panel["datasource"]["uid"] in uids, where
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
            assert panel["targets"], f"{where}: no query"
            for target in panel["targets"]:
                assert target["expr"].strip(), where
                assert target["datasource"]["uid"] in uids, where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), where


def test_dashboard_provider_points_at_a_folder() -> None:
    doc = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/switchboard.yaml").read_text())
    (provider,) = doc["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


@needs_promtool
def test_promtool_checks_rules_and_the_shipped_config() -> None:
    rules = prometheus.promtool("check", "rules", str(DASHBOARDS / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    # The shipped config names a token file that exists only on a real Prometheus host: syntax here,
    # the full check runs on the test's copy in test_live_prometheus.
    config = prometheus.promtool("check", "config", "--syntax-only", str(DASHBOARDS / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr


@needs_promtool
def test_every_alert_fires_on_synthetic_series() -> None:
    result = prometheus.promtool("test", "rules", str(DASHBOARDS / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {t["alertname"] for case in yaml.safe_load((DASHBOARDS / "alerts_test.yml").read_text())["tests"]
              for t in case["alert_rule_test"] if t["exp_alerts"]}
    defined = {r["alert"] for g in yaml.safe_load((DASHBOARDS / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    assert tested == defined
