"""`/metrics` beyond loopback: `jobmanager serve` (on JOBMANAGER_HOST) and `jobmanager
worker` (its metrics port JOBMANAGER_WORKER_METRICS_PORT on JOBMANAGER_WORKER_METRICS_HOST)
listening on every address refuse to start without `JOBMANAGER_METRICS_TOKEN`, saying
so; with it they start and their metrics answer only the token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.acceptance.conftest import WORKER, redis_broker
from tests.acceptance.server import ServerProcess, free_port

TOKEN = "scrape-me-please"
EVERYWHERE = {"JOBMANAGER_HOST": "0.0.0.0"}
REFUSAL = "JOBMANAGER_HOST=0.0.0.0 is not a loopback address, so /metrics would answer anyone"


def refused_start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def scrape(url: str, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return httpx.get(url, headers=headers, timeout=10)


def test_serve_on_every_address_needs_the_metrics_token(tmp_path: Path) -> None:
    env = {**EVERYWHERE, "JOBMANAGER_HOME": str(tmp_path / "refused")}
    done = refused_start([sys.executable, "-m", "jobmanager", "serve"], env)
    assert done.returncode != 0
    assert REFUSAL in " ".join(done.stderr.split())
    assert "JOBMANAGER_METRICS_TOKEN" in done.stderr and "Traceback" not in done.stderr

    server = ServerProcess(
        tmp_path / "home", extra_env={**EVERYWHERE, "JOBMANAGER_METRICS_TOKEN": TOKEN}
    ).start()
    try:
        assert scrape(f"{server.url}/metrics").status_code == 401
        assert scrape(f"{server.url}/metrics", "not-it").status_code == 401
        answered = scrape(f"{server.url}/metrics", TOKEN)
        assert answered.status_code == 200
        assert 'jobmanager_http_requests_total{method="GET"' in answered.text
    finally:
        server.stop()


def test_a_workers_metrics_port_on_every_address_needs_the_token(tmp_path: Path) -> None:
    port = free_port()
    shared = {
        "JOBMANAGER_WORKER_METRICS_HOST": "0.0.0.0",
        "JOBMANAGER_WORKER_METRICS_PORT": str(port),
        "JOBMANAGER_HOME": str(tmp_path / "worker"),
        "JOBMANAGER_DATABASE_URL": f"sqlite:///{tmp_path / 'jobmanager.db'}",
        "JOBMANAGER_BLOB_URL": str(tmp_path / "blobs"),
        "JOBMANAGER_DISPATCH": "celery",
        "JOBMANAGER_BROKER_URL": redis_broker(13),
    }
    command = list(WORKER)
    done = refused_start(command, shared)
    assert done.returncode != 0
    assert REFUSAL.replace("HOST", "WORKER_METRICS_HOST") in " ".join(done.stderr.split())

    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            command,
            env={**os.environ, **shared, "JOBMANAGER_METRICS_TOKEN": TOKEN},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        refused = wait_for_answer(url, worker)
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["code"] == "jobmanager.unauthorized"
        answered = scrape(url, TOKEN)
        assert answered.status_code == 200 and "jobmanager_job_phase_seconds" in answered.text
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def wait_for_answer(url: str, worker: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"the worker stopped: {worker.returncode}")
        try:
            return scrape(url)
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("the worker's metrics port never answered")
