"""Cluster mode: an API-only `jobmanager serve` hands jobs through Celery (Redis) to a
separate `jobmanager worker` process sharing the database and the blob folder."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobmanager.client import Client, JobEvent
from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.conftest import WORKER, redis_broker
from tests.acceptance.server import ServerProcess, free_port


@pytest.fixture
def broker() -> str:
    return redis_broker(11)


@pytest.fixture
def worker_metrics_port() -> int:
    return free_port()


@pytest.fixture
def cluster(tmp_path: Path, broker: str, worker_metrics_port: int) -> Iterator[ServerProcess]:
    home = tmp_path / "api"
    shared = {
        "JOBMANAGER_DATABASE_URL": f"sqlite:///{home / 'jobmanager.db'}",
        "JOBMANAGER_BLOB_URL": str(home / "blobs"),
        "JOBMANAGER_DISPATCH": "celery",
        "JOBMANAGER_BROKER_URL": broker,
    }
    # The API replica: first start of an embedded-looking home makes the dev tenant.
    api = ServerProcess(home, extra_env={**shared, "JOBMANAGER_JOB_SLOTS": "0"})
    home.mkdir(parents=True)
    api.start()
    with (tmp_path / "worker.log").open("wb") as worker_log:
        worker = subprocess.Popen(
            [*WORKER, "--metrics-port", str(worker_metrics_port)],
            env={**os.environ, **shared, "JOBMANAGER_HOME": str(tmp_path / "worker")},
            stdout=worker_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield api
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
    api.stop()


def test_a_job_runs_on_a_celery_worker(
    cluster: ServerProcess, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    caller = caller_of(cluster)
    output = caller.folder("out")
    model = caller.model(note("%python\nopen(outputFolder + '/w.txt', 'w').write('remote')"))
    job_id = caller.submit(model, caller.configuration(), output)
    job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=120)
    assert job["status"] == "SUCCEEDED", job["message"]
    assert caller.files(output)["w.txt"] == b"remote"


def metric_values(url: str) -> dict[str, float]:
    """Each sample by name and labels (`name{label=value,...}`)."""
    text = httpx.get(url).raise_for_status().text
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_celery_worker_serves_the_metrics_of_its_jobs(
    cluster: ServerProcess, worker_metrics_port: int, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    caller = caller_of(cluster)
    job_id = caller.submit(
        caller.model(note("%python\n1")), caller.configuration(), caller.folder("o")
    )
    caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=120)
    worker = metric_values(f"http://127.0.0.1:{worker_metrics_port}/metrics")
    assert worker["jobmanager_job_phase_seconds_count[('phase', 'running')]"] == 1
    assert "jobmanager_environments_warm[]" in worker
    assert not [name for name in worker if name.startswith("jobmanager_jobs[")]  # the API's
    api = metric_values(f"{cluster.url}/metrics")
    assert api["jobmanager_jobs[('status', 'SUCCEEDED')]"] == 1  # no token: no tenant named
    assert "jobmanager_job_phase_seconds_count[('phase', 'running')]" not in api


def test_a_celery_jobs_events_reach_a_follower_across_an_api_restart(
    cluster: ServerProcess, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    """The worker writes the events to the database, the API replica reads them: the
    Python client's follower resumes where it was when the API comes back."""
    caller = caller_of(cluster)
    printing = note(
        "%python\nimport time\nfor i in range(30):\n    print('tick', i, flush=True)\n"
        "    time.sleep(0.2)"
    )
    job_id = caller.submit(caller.model(printing), caller.configuration(), caller.folder("o"))
    credentials = cluster.dev_credentials()
    seen: list[JobEvent] = []
    with Client(cluster.url, credentials["clientId"], credentials["clientSecret"]) as api:
        for event in api.iter_job_events(job_id):
            seen.append(event)
            if event.kind == "output" and "tick 3" in event.text:
                started = time.monotonic()
                cluster.stop()  # its open streams end: it does not wait for the job
                assert time.monotonic() - started < 10
                cluster.start()
    assert [e.id for e in seen] == list(range(1, len(seen) + 1))
    assert "".join(e.text for e in seen if e.stream == "stdout") == "".join(
        f"tick {i}\n" for i in range(30)
    )
    statuses = [e.data["status"] for e in seen if e.kind == "status"]
    assert statuses == ["STARTING", "RUNNING", "SUCCEEDED"]
    assert seen[-1].is_end and seen[-1].data["status"] == "SUCCEEDED"
