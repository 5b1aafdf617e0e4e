"""Cluster workers as an operator runs them: two clusters sharing one Redis through
queues of their own (`JOBMANAGER_QUEUE_NAME`) each run only their jobs, and a worker with
`JOBMANAGER_LOG_FORMAT=json` prints only JSON lines, with no line per Celery message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.conftest import WORKER, redis_broker
from tests.acceptance.server import ServerProcess

BROKER_DATABASE = 15


@pytest.fixture
def broker() -> str:
    return redis_broker(BROKER_DATABASE)


class Side:
    """One cluster on the shared broker: an API replica and, once started, a worker."""

    def __init__(self, root: Path, broker: str, queue: str, **env: str) -> None:
        self.root = root
        self.shared = {
            "JOBMANAGER_DATABASE_URL": f"sqlite:///{root / 'api' / 'jobmanager.db'}",
            "JOBMANAGER_BLOB_URL": str(root / "api" / "blobs"),
            "JOBMANAGER_DISPATCH": "celery",
            "JOBMANAGER_BROKER_URL": broker,
            "JOBMANAGER_QUEUE_NAME": queue,
            **env,
        }
        (root / "api").mkdir(parents=True)
        self.api = ServerProcess(
            root / "api", extra_env={**self.shared, "JOBMANAGER_JOB_SLOTS": "0"}
        )
        self.worker: subprocess.Popen[bytes] | None = None

    def start_worker(self, slots: int = 1) -> None:
        with (self.root / "worker.log").open("wb") as log:
            self.worker = subprocess.Popen(
                [*WORKER[:-1], str(slots)],
                env={**os.environ, **self.shared, "JOBMANAGER_HOME": str(self.root / "worker")},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop_worker(self) -> str:
        """Warm shutdown (SIGTERM); the worker's output."""
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)
            try:
                self.worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait(10)
        return (self.root / "worker.log").read_text(errors="replace")

    def close(self) -> None:
        self.stop_worker()
        self.api.stop()


@pytest.fixture
def sides(tmp_path: Path, broker: str) -> Iterator[Callable[..., Side]]:
    made: list[Side] = []

    def side(name: str, queue: str, **env: str) -> Side:
        made.append(Side(tmp_path / name, broker, queue, **env))
        made[-1].api.start()
        return made[-1]

    yield side
    for each in made:
        each.close()


def submit(caller: Caller, count: int = 1) -> list[str]:
    model, configuration = caller.model(note("%python\n1")), caller.configuration()
    return [caller.submit(model, configuration, caller.folder(f"o{n}")) for n in range(count)]


def test_two_clusters_on_one_broker_each_run_only_their_jobs(
    sides: Callable[..., Side], broker: str, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    a, b = sides("a", "cluster-a.jobs"), sides("b", "cluster-b.jobs")
    a.start_worker()
    caller_a, caller_b = caller_of(a.api), caller_of(b.api)
    (job_b,) = submit(caller_b)
    (job_a,) = submit(caller_a)
    done = caller_a.wait(job_a, lambda j: j["status"] in FINAL, timeout=120)
    assert done["status"] == "SUCCEEDED", done["message"]
    time.sleep(3)
    # A's worker did not take B's message: it waits in B's queue, B's job waits for B.
    assert caller_b.job(job_b)["status"] == "SUBMITTED"
    assert redis.Redis.from_url(broker).llen("cluster-b.jobs") == 1
    b.start_worker()
    done = caller_b.wait(job_b, lambda j: j["status"] in FINAL, timeout=120)
    assert done["status"] == "SUCCEEDED", done["message"]


def test_a_json_worker_prints_json_lines_and_no_line_per_message(
    sides: Callable[..., Side], caller_of: Callable[[ServerProcess], Caller]
) -> None:
    side = sides("json", "jobmanager.jobs", JOBMANAGER_LOG_FORMAT="json")
    side.start_worker(slots=2)
    caller = caller_of(side.api)
    for job_id in submit(caller, 4):
        done = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=120)
        assert done["status"] == "SUCCEEDED", done["message"]
    output = side.stop_worker()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # each parses
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    loggers = {line["logger"] for line in lines}
    assert any(name.startswith("celery") for name in loggers), loggers  # Celery's own, as JSON
    per_message = [
        line
        for line in lines
        if "jobmanager.run_job[" in line["message"] and line["level"] in ("INFO", "DEBUG")
    ]
    assert not per_message, per_message
