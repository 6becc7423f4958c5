"""deploy/ stays true to the code: manifests parse, and name only CLI commands, settings and routes that exist.

A renamed setting or subcommand would otherwise leave the documented deployment silently broken
(an unknown environment variable is ignored; a gateway without its setting runs on the default).
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path
from typing import Any

import yaml

from gateway.cli import _parser
from gateway.settings import describe

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
SETTINGS = {name for name, _, _ in describe()}


def _commands() -> set[str]:
    sub = next(a for a in _parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(sub.choices)  # type: ignore[attr-defined]


def _manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) or spec.get("jobTemplate", {}).get("spec", {})
    return list(pod.get("containers", []))


def test_every_manifest_parses_and_has_a_kind_and_name() -> None:
    docs = _manifests()
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "Ingress", "ConfigMap", "Secret", "Job"}
    for d in docs:
        assert d["apiVersion"] and d["metadata"]["name"], d


def test_manifests_run_existing_commands_with_existing_settings() -> None:
    commands = _commands()
    ran = set()
    for doc in _manifests():
        if doc["kind"] in ("ConfigMap", "Secret"):
            names = set(doc.get("data") or {}) | set(doc.get("stringData") or {})
            assert names <= SETTINGS, names - SETTINGS
        for c in _containers(doc):
            assert c["command"][0] == "switchboard" and c["command"][1] in commands, c["command"]
            ran.add(c["command"][1])
            names = {e["name"] for e in c.get("env", [])}
            assert names <= SETTINGS, names - SETTINGS
    assert ran == {"serve", "worker", "migrate"}


def test_gateways_are_probed_on_the_health_routes_and_run_no_workers() -> None:
    [gateway] = [d for d in _manifests() if d["kind"] == "Deployment" and "serve" in _containers(d)[0]["command"]]
    [c] = _containers(gateway)
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["SWITCHBOARD_RUN_WORKERS"] == "false" and env["SWITCHBOARD_PORT"] == str(c["ports"][0]["containerPort"])
    [service] = [d for d in _manifests() if d["kind"] == "Service"]
    assert service["spec"]["selector"] == gateway["spec"]["template"]["metadata"]["labels"]


def test_the_ingress_is_sticky_for_socket_io_polling() -> None:
    [ingress] = [d for d in _manifests() if d["kind"] == "Ingress"]
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    nginx = (DEPLOY / "nginx" / "switchboard.conf").read_text()
    assert "ip_hash;" in nginx and "Upgrade $http_upgrade" in nginx


def test_systemd_units_and_env_file_name_existing_commands_and_settings() -> None:
    commands = _commands()
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {"switchboard-gateway@.service", "switchboard-worker@.service"}
    for unit in units:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(re.sub(r"^#.*$", "", unit.read_text(), flags=re.M))
        service = parser["Service"]
        exec_start = service["ExecStart"].split()
        assert exec_start[0].endswith("/switchboard") and exec_start[1] in commands, exec_start
        names = set(re.findall(r"^Environment=(\w+)=", unit.read_text(), flags=re.M))
        assert names <= SETTINGS, (unit.name, names - SETTINGS)
    env_file = (DEPLOY / "systemd" / "switchboard.env.example").read_text()
    names = {line.split("=", 1)[0] for line in env_file.splitlines() if line and not line.startswith("#")}
    assert names <= SETTINGS, names - SETTINGS
    assert "DATABASE_URL" in names and "REDIS_URL" in names and "SWITCHBOARD_SECRET_KEY" in names


def test_the_readme_names_the_files_it_describes() -> None:
    text = (DEPLOY / "README.md").read_text()
    for path in [*DEPLOY.glob("*/*")]:
        assert path.name in text or path.parent.name in text, path
    for test in re.findall(r"tests/[\w/]+\.py", text):
        assert (DEPLOY.parent / test).exists(), test
