"""`/metrics` and `/health/ready` of a real `jobmanager serve` after a few real jobs."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.cli_runner import module_server
from tests.acceptance.server import ServerProcess

TOKEN = "scrape-me-please"
server = module_server(JOBMANAGER_METRICS_TOKEN=TOKEN)  # by tenant: for the token's holder

SUCCEEDS = note("%python\nprint('fine')")
FAILS = note("%python\nraise ValueError('no')")
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def caller(server: ServerProcess, caller_of: Callable[[ServerProcess], Caller]) -> Caller:
    return caller_of(server)


def scrape(server: ServerProcess) -> Samples:
    answer = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def run_jobs(caller: Caller, payloads: list[bytes]) -> list[str]:
    configuration = caller.configuration()
    ids = [
        caller.submit(caller.model(p), configuration, caller.folder(f"o-{uuid.uuid4().hex[:8]}"))
        for p in payloads
    ]
    for job_id in ids:
        caller.wait(job_id, lambda job: job["status"] in FINAL)
    return ids


def test_metrics_count_the_jobs_their_phases_and_the_requests(
    server: ServerProcess, caller: Caller
) -> None:
    ids = run_jobs(caller, [SUCCEEDS, SUCCEEDS, FAILS])
    samples = scrape(server)
    assert value(samples, "jobmanager_jobs", tenant="dev", status="SUCCEEDED") == 2
    assert value(samples, "jobmanager_jobs", tenant="dev", status="FAILED") == 1
    for phase in ("queued", "starting", "running", "saving"):
        assert value(samples, "jobmanager_job_phase_seconds_count", phase=phase) == 3
    assert value(samples, "jobmanager_job_phase_seconds_sum", phase="running") > 0
    job_route = "/api/jobmanager/v3/jobs/{job_id}"
    polls = value(
        samples, "jobmanager_http_requests_total", method="GET", route=job_route, status="200"
    )
    assert polls >= len(ids)  # each job was polled until final, by its route template
    assert not [key for key in samples if any(i in str(key) for i in ids)]  # no raw paths
    assert value(samples, "jobmanager_http_request_seconds_count", method="GET", route=job_route)
    assert value(samples, "jobmanager_blob_bytes_total", direction="written") > 0
    assert value(samples, "jobmanager_blob_bytes_total", direction="read") > 0
    assert ("jobmanager_environments_warm", frozenset()) in samples
    assert ("jobmanager_schedule_firing_lag_seconds_count", frozenset()) in samples


def test_a_waiting_job_is_in_the_queue_depth(server: ServerProcess, caller: Caller) -> None:
    configuration = caller.configuration(maxEnvironments=1)
    sleeper = note("%python\nimport time\ntime.sleep(3)")
    output = caller.folder(f"o-{uuid.uuid4().hex[:8]}")
    first = caller.submit(caller.model(sleeper), configuration, output)
    caller.wait(first, lambda job: job["status"] == "RUNNING")
    second = caller.submit(caller.model(sleeper), configuration, output)
    samples = scrape(server)
    assert value(samples, "jobmanager_queue_depth", configuration=configuration) == 1
    assert value(samples, "jobmanager_environments_busy", configuration=configuration) == 1
    caller.wait(second, lambda job: job["status"] in FINAL)
    samples = scrape(server)
    assert value(samples, "jobmanager_queue_depth", configuration=configuration) == 0


def test_ready_answers_503_while_the_blob_store_is_away(server: ServerProcess) -> None:
    ready = httpx.get(f"{server.url}/health/ready")
    assert ready.status_code == 200 and ready.json()["blobStore"] == "UP"
    blobs = server.home / "blobs"
    moved = server.home / "blobs-away"
    blobs.rename(moved)
    try:
        away = httpx.get(f"{server.url}/health/ready")
        assert httpx.get(f"{server.url}/health").status_code == 200  # alive all the same
    finally:
        moved.rename(blobs)
    assert away.status_code == 503
    (error,) = away.json()["errors"]
    assert error["code"] == "jobmanager.serviceUnavailable" and error["logref"]
    assert "blob store" in error["message"] and "database" not in error["message"]
    assert httpx.get(f"{server.url}/health/ready").status_code == 200
    shutil.rmtree(moved, ignore_errors=True)
