"""`jobmanager worker` starts as the service does (jobrun/job_runner.py): a worker
started after one of the same home was killed with SIGKILL removes the environments
that one left (their folders, and their processes: under `process` isolation its
kernels outlive it in their own sessions), and fills its warm pool before the first
job comes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from jobmanager.common.home import environments_folder
from jobmanager.engine.processes import MARKER_VARIABLE
from tests.acceptance.conftest import WORKER, redis_broker
from tests.acceptance.server import (
    ServerProcess,
    environment_folders,
    environment_processes,
    free_port,
)
from tests.acceptance.test_celery import metric_values

WARM = "jobmanager_environments_warm[]"
LEFT = re.compile(r"removed (\d+) environments left by a previous run")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ServerProcess]:
    """An API-only replica: it makes the database the workers share."""
    home = tmp_path / "api"
    home.mkdir()
    server = ServerProcess(home, extra_env={**shared(home), "JOBMANAGER_JOB_SLOTS": "0"})
    yield server.start()
    server.stop()


def shared(api_home: Path) -> dict[str, str]:
    return {
        "JOBMANAGER_DATABASE_URL": f"sqlite:///{api_home / 'jobmanager.db'}",
        "JOBMANAGER_BLOB_URL": str(api_home / "blobs"),
        "JOBMANAGER_DISPATCH": "celery",
        "JOBMANAGER_BROKER_URL": redis_broker(10),
    }


@pytest.fixture(params=["sandbox", "process"])
def start_worker(
    tmp_path: Path, api: ServerProcess, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Worker]]:
    """Starts `jobmanager worker` processes of one home (`tmp_path / "worker"`), under
    each isolation."""
    started: list[Worker] = []
    isolation = {"JOBMANAGER_ISOLATION": request.param}

    def start(name: str) -> Worker:
        worker = Worker(tmp_path / "worker", tmp_path / f"{name}.log", free_port())
        worker.start({**shared(api.home), **isolation})
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


class Worker:
    def __init__(self, home: Path, log: Path, metrics_port: int) -> None:
        self.home, self.log_path, self.metrics_port = home, log, metrics_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [*WORKER, "--metrics-port", str(self.metrics_port)],
                env={**os.environ, **env, "JOBMANAGER_HOME": str(self.home)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def warm(self) -> float:
        """Its warm environments, as its /metrics says (0 until it answers)."""
        try:
            return metric_values(f"http://127.0.0.1:{self.metrics_port}/metrics").get(WARM, 0)
        except httpx.HTTPError:
            return 0

    def kill(self) -> None:
        """SIGKILL the worker alone: a crash, what it started is left behind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def left_processes(home: Path) -> list[psutil.Process]:
    """The processes of the environments of `home`: its sandboxes and what runs in them,
    or (`process` isolation) the processes marked as an environment's that name one of
    its folders."""
    folder = environments_folder(home)
    found = environment_processes(home)
    for process in psutil.process_iter():
        try:
            environ = process.environ()
        except (psutil.Error, OSError):
            continue
        if MARKER_VARIABLE in environ and str(folder) in environ.get("inputFolder", ""):
            found.append(process)
    return found


def running(process: psutil.Process) -> bool:
    """Alive, a zombie aside: a killed process whose parent died waits for the host's
    init to reap it."""
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def wait_for(condition: Callable[[], object], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not in {timeout:.0f} s: {what}"
        time.sleep(0.5)


def test_a_worker_removes_what_a_killed_one_left_and_fills_its_warm_pool(
    start_worker: Callable[[str], Worker],
) -> None:
    first = start_worker("first")
    wait_for(lambda: first.warm() >= 1, f"a warm environment\n{first.log()}")
    assert not LEFT.search(first.log())  # nothing was left before it
    left = environment_folders(first.home)
    assert left
    processes = left_processes(first.home)
    assert processes

    first.kill()
    assert environment_folders(first.home) >= left  # the crash left them

    second = start_worker("second")
    wait_for(lambda: LEFT.search(second.log()), f"the left environments removed\n{second.log()}")
    found = LEFT.search(second.log())
    assert found is not None and int(found[1]) >= len(left)
    assert not left & environment_folders(second.home)
    assert [p.pid for p in processes if running(p)] == []
    wait_for(lambda: second.warm() >= 1, f"a warm environment\n{second.log()}")
