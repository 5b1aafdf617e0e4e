"""deploy/prometheus/jobmanager-alerts.yaml: Prometheus accepts the rules, each alert fires
on the series its unit tests (jobmanager-alerts.test.yaml) give and stays quiet on the
others, and every jobmanager metric a rule reads is one the service exposes.

`promtool` is Prometheus's own checker (Debian's `prometheus` package); without it these
tests fail on CI and skip elsewhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import yaml

from jobmanager.api.metrics_registry import DatabaseCollector, PoolCollector
from jobmanager.common.process_metrics import PROCESS_METRICS
from tests.conftest import require_service

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "jobmanager-alerts.yaml"
RULE_TESTS = RULES.with_name("jobmanager-alerts.test.yaml")
SUFFIXES = {
    "gauge": [""],
    "counter": ["_total"],
    "histogram": ["_bucket", "_count", "_sum"],
}
ALERTS = {
    "JobmanagerQueueWaitHigh",
    "JobmanagerQueueStalled",
    "JobmanagerFailureRateHigh",
    "JobmanagerNoWorkerAlive",
    "JobmanagerReplicaNotReady",
    "JobmanagerReplicaDown",
    "JobmanagerNoReplicaReady",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("promtool")
    if command is None:
        require_service("promtool", "apt-get install prometheus", FileNotFoundError("promtool"))
    assert command is not None
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=120)


def rules() -> list[dict[str, str]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_prometheus_accepts_the_rules() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in checked.stdout


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    tested = promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    named = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert named == ALERTS == {rule["alert"] for rule in rules()}


def exposed_names() -> set[str]:
    """Every series name the API's and a worker's /metrics can show."""
    stats = SimpleNamespace(
        jobs_by_tenant_and_status=lambda: [("t", "acme", "RUNNING", 1)],
        waiting_by_configuration=lambda: [("c", 1)],
        environments_by_configuration=lambda: [("c", 1)],
        workers_alive=lambda since: 2,
    )
    pool = SimpleNamespace(warm_count=lambda: 1)
    collectors = [PROCESS_METRICS, DatabaseCollector(stats, True, 15.0), PoolCollector(pool)]  # type: ignore[arg-type]
    families = [family for collector in collectors for family in collector.collect()]
    return {f"{family.name}{suffix}" for family in families for suffix in SUFFIXES[family.type]}


def test_the_rules_read_only_metrics_the_service_exposes() -> None:
    used = {name for rule in rules() for name in re.findall(r"\bjobmanager_\w+", rule["expr"])}
    exposed = exposed_names()
    assert {"jobmanager_queue_depth", "jobmanager_jobs", "jobmanager_workers"} <= used
    assert used <= exposed, sorted(used - exposed)
