"""Cluster mode: an API-only `jobmanager serve` hands jobs through Celery (Redis) to a
separate `jobmanager worker` process sharing the database and the blob folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.server import ServerProcess
from tests.conftest import require_service

REDIS = "redis://127.0.0.1:6379/11"
START_REDIS = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no"


@pytest.fixture
def broker() -> str:
    try:
        redis.Redis.from_url(REDIS).flushdb()
    except redis.RedisError as error:
        require_service("Redis", START_REDIS, error)
    return REDIS


@pytest.fixture
def cluster(tmp_path: Path, broker: str) -> Iterator[ServerProcess]:
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
            [sys.executable, "-m", "jobmanager", "worker", "--slots", "1"],
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
