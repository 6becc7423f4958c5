"""A private Prometheus (Debian's package) scraping a test gateway: own config, data dir and loopback port.

The config is the committed ``dashboards/prometheus.yml`` with only what a test must change: the
target, a 1 s scrape interval, absolute rule and token-file paths. So the shipped file is what runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.servers.procs import REPO, free_port, http_get, http_ok, wait_until

DASHBOARDS = REPO / "dashboards"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def available() -> bool:
    return Path(PROMETHEUS).is_file() and Path(PROMTOOL).is_file()


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


def test_config(target: str, token_file: Path) -> dict[str, Any]:
    config = yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(DASHBOARDS / name) for name in config["rule_files"]]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "switchboard")
    job["authorization"]["credentials_file"] = str(token_file)
    job["static_configs"] = [{"targets": [target], "labels": {"process": "test"}}]
    return config


@dataclass
class RunningPrometheus:
    url: str
    config_path: Path

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query through the HTTP API; returns the parsed body (status, data or error)."""
        status, body = http_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}", timeout=10)
        parsed: dict[str, Any] = json.loads(body)
        parsed["http_status"] = status
        return parsed

    def targets_up(self) -> bool:
        result = self.query('up{job="switchboard"} == 1')
        return result.get("status") == "success" and bool(result["data"]["result"])


@contextmanager
def running_prometheus(workdir: Path, target: str, token: str) -> Iterator[RunningPrometheus]:
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "metrics-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(test_config(target, token_file), sort_keys=False))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config_path}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1h"],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or http_ok(f"{url}/-/ready"), timeout=30, what="prometheus ready")
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited: {(workdir / 'prometheus.log').read_text()[-2000:]}")
        yield RunningPrometheus(url, config_path)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
