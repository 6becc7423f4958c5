"""``switchboard demo --with-prometheus``: a local Prometheus (Debian's package) scraping the demo gateway.

It uses the shipped ``dashboards/prometheus.yml`` and alert rules with the demo's target. The demo
gateway has no metrics token, so /metrics answers loopback clients and the scrape needs no secret.
Grafana is not started: load ``dashboards/provisioning`` into any Grafana 10+ (see the README).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

DASHBOARDS = Path(__file__).resolve().parents[1] / "dashboards"
PROMETHEUS_PORT = 9090


def start(gateway_url: str, data_dir: Path, port: int = PROMETHEUS_PORT) -> subprocess.Popen[bytes] | None:
    binary = shutil.which("prometheus")
    if binary is None:
        print("switchboard: --with-prometheus needs the `prometheus` command (apt-get install prometheus)",
              file=sys.stderr)
        return None
    work = (data_dir / "prometheus").resolve()
    work.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text())
    config["rule_files"] = [str(DASHBOARDS / name) for name in config["rule_files"]]
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "switchboard")
    job.pop("authorization", None)
    job["static_configs"] = [{"targets": [urlsplit(gateway_url).netloc], "labels": {"process": "demo"}}]
    (work / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    log = (work / "prometheus.log").open("ab")
    proc = subprocess.Popen([binary, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    print(f"  Prometheus:     http://127.0.0.1:{port}   (scraping {gateway_url}/metrics; log in {work})",
          file=sys.stderr, flush=True)
    return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
