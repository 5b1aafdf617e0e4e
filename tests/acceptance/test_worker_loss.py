"""Cluster mode with two real `jobmanager worker` processes (Celery over RabbitMQ,
PostgreSQL, one blob folder) and an API-only `jobmanager serve`: one worker is killed
with SIGKILL while it runs three jobs.

The jobs with a retry policy for `environmentLost` run again on the other worker and
succeed; the one without ends FAILED saying its environment was lost. Each attempt is
on the job (API and `jobmanager jobs info`), the attempts never overlap, and what the
first attempt wrote before the kill is kept under its name.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.cli_runner import Cli
from tests.acceptance.server import ServerProcess, environment_processes
from tests.conftest import own_postgres_database, require_service

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
START_RABBITMQ = "rabbitmq-server -detached"
RETRY_LOST = {"maxRetries": 1, "retryOn": ["environmentLost"], "backoff": {"initialSeconds": 1}}


@pytest.fixture
def database() -> Iterator[str]:
    """A PostgreSQL database of this test's own, dropped after it."""
    with own_postgres_database("jm_worker_loss") as url:
        yield url


@pytest.fixture
def broker() -> str:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=3).close()
    except OSError as error:
        require_service("RabbitMQ", START_RABBITMQ, error)
    return BROKER


@dataclass
class Cluster:
    api: ServerProcess
    shared: dict[str, str]
    root: Path
    workers: list[subprocess.Popen[bytes]]

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        with (self.root / f"{name}.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "jobmanager", "worker", "--slots", "3"],
                env={
                    **os.environ,
                    **self.shared,
                    "JOBMANAGER_HOME": str(self.root / name),
                    "JOBMANAGER_WARM_ENVIRONMENTS": "0",  # fewer kernels at once on 2 cores
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers.append(worker)
        return worker


@pytest.fixture
def cluster(tmp_path: Path, database: str, broker: str) -> Iterator[Cluster]:
    gate = tmp_path / "gate"
    gate.mkdir()
    shared = {
        "JOBMANAGER_DATABASE_URL": database,
        "JOBMANAGER_BLOB_URL": str(tmp_path / "blobs"),
        "JOBMANAGER_DISPATCH": "celery",
        "JOBMANAGER_BROKER_URL": broker,
        "JOBMANAGER_HEARTBEAT_TIMEOUT_SECONDS": "5",
        "JOBMANAGER_SANDBOX_PATHS": json.dumps([str(gate)]),
    }
    home = tmp_path / "api"
    api = ServerProcess(home, extra_env={**shared, "JOBMANAGER_JOB_SLOTS": "0"})
    home.mkdir()
    api.start()
    admin = {**os.environ, **shared, "JOBMANAGER_HOME": str(home)}
    jobmanager = [sys.executable, "-m", "jobmanager", "admin"]
    subprocess.run([*jobmanager, "tenant", "create", "dev"], env=admin, check=True)
    made = subprocess.run(
        [*jobmanager, "credentials", "create", "--tenant", "dev"],
        env=admin,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = dict(line.split(":", 1) for line in made.splitlines() if ":" in line)
    credentials = {
        "clientId": lines["client id"].strip(),
        "clientSecret": lines["client secret"].strip(),
    }
    (home / "dev-credentials.json").write_text(json.dumps(credentials))
    running = Cluster(api, shared, tmp_path, [])
    yield running
    for worker in running.workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    api.stop()


def test_a_killed_workers_jobs_are_retried_on_the_other_or_fail(
    cluster: Cluster, tmp_path: Path, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    gate = tmp_path / "gate"
    (gate / "hold").touch()
    model = note(
        "%python\nopen(outputFolder + '/before-kill.txt', 'w').write('saved')",
        f"%python\nimport os, time\nwhile os.path.exists({str(gate / 'hold')!r}):\n"
        "    time.sleep(0.2)\nopen(outputFolder + '/done.txt', 'w').write('ok')",
    )
    doomed = cluster.start_worker("worker-1")
    caller = caller_of(cluster.api)
    configuration = caller.configuration(maxEnvironments=6)
    model_id = caller.model(model)
    outputs: dict[str, str] = {}
    for n, retry in enumerate([RETRY_LOST, RETRY_LOST, None]):
        output = caller.folder(f"out-{n}")
        extra = {"retry": retry} if retry else {}
        outputs[caller.submit(model_id, configuration, output, **extra)] = output
    retried, [plain] = list(outputs)[:2], list(outputs)[2:]
    for job_id in outputs:
        caller.wait(job_id, lambda j: (j.get("progress") or {}).get("current") == 2, timeout=180)
    first_workers = {caller.job(j)["attempts"][0]["workerId"] for j in outputs}
    assert len(first_workers) == 1  # all three run on the worker about to die
    environments = environment_processes(tmp_path / "worker-1")
    assert environments

    cluster.start_worker("worker-2")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(10)

    lost = caller.wait(plain, lambda j: j["status"] in FINAL, timeout=60)
    assert lost["status"] == "FAILED"
    assert lost["message"].startswith("Environment lost [")
    assert caller.files(outputs[plain])["before-kill.txt"] == b"saved"
    for job_id in retried:
        waiting = caller.wait(job_id, lambda j: j["attempt"] == 2, timeout=60)
        assert waiting["attempts"][0]["message"].startswith("Retrying in 1 s: attempt 2 of 2 [")
    (gate / "hold").unlink()
    for job_id in retried:
        job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=180)
        assert job["status"] == "SUCCEEDED", job["message"]
        first, second = job["attempts"]
        assert first["workerId"] in first_workers and first["outcome"] == "FAILED"
        assert second["workerId"] not in first_workers and second["outcome"] == "SUCCEEDED"
        assert _time(first["endDate"]) <= _time(second["startDate"])  # never twice at once
        folder = caller.http.get(f"/api/dataexchange/v3/directories/{outputs[job_id]}").json()
        assert caller.files(outputs[job_id])["done.txt"] == b"ok"
        [attempt_dir] = [d for d in folder["directories"] if d["name"] == "attempt-1"]
        assert caller.files(attempt_dir["id"])["before-kill.txt"] == b"saved"
    assert [p for p in environments if p.is_running()] == []

    info = Cli.for_server(tmp_path / "cli", cluster.api)("jobs", "info", retried[0]).assert_ok()
    assert "attempt 1" in info.stdout and "attempt 2" in info.stdout
    assert "SUCCEEDED" in info.stdout and "Environment lost" in info.stdout


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
