"""A real server stopped through a second-level schedule's fire times and started again
makes one catch-up firing for the missed window (the default `misfire: once`), then
fires on time again; no fire time fires twice."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from jobmanager.domain.firings import MISFIRE_GRACE
from tests.acceptance.server import ServerProcess
from tests.acceptance.test_schedules_replicas import (
    JM,
    every_page,
    instant,
    runnable_references,
)


@pytest.fixture
def server() -> Iterator[ServerProcess]:
    folder = Path(tempfile.mkdtemp(prefix="jm-"))  # short: kernel socket paths are limited
    process = ServerProcess(folder / "home", extra_env={"JOBMANAGER_JOB_SLOTS": "0"}).start()
    yield process
    process.stop()
    shutil.rmtree(folder, ignore_errors=True)


def firing_count(http: httpx.Client, path: str) -> int:
    return int(http.get(path, params={"pageSize": 1}).json()["page"]["totalElements"])


def wait_for_firings(http: httpx.Client, path: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while firing_count(http, path) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def test_downtime_makes_one_catch_up_firing(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.headers["Authorization"] = f"Bearer {server.token()}"
        body = {
            **runnable_references(http),
            "name": "every second",
            "scheduleString": "*/1 * * * * ?",
            "overlap": "allow",
        }
        schedule_id = http.post(f"{JM}/schedules", json=body).json()["id"]
        path = f"{JM}/schedules/{schedule_id}/firings"
        wait_for_firings(http, path, 2)
        server.stop()
        time.sleep(MISFIRE_GRACE.total_seconds() + 4)  # down through several fire times
        server.start()
        before_restart = firing_count(http, path)
        wait_for_firings(http, path, before_restart + 3)
        http.post(f"{JM}/schedules/{schedule_id}/stop")
        fired = sorted(every_page(http, path, "firings"), key=lambda f: f["fireTime"])
        jobs = [j for j in every_page(http, f"{JM}/jobs", "jobs") if j["scheduleId"] == schedule_id]
    catch_up = [f for f in fired if "missed" in f["reason"]]
    assert len(catch_up) == 1, fired
    assert catch_up[0]["outcome"] == "created"
    times = [instant(f["fireTime"]) for f in fired]
    assert len(set(times)) == len(times)
    at = times.index(instant(catch_up[0]["fireTime"]))
    assert times[at] - times[at - 1] == timedelta(seconds=1)  # the first missed fire time
    assert times[at + 1] - times[at] > timedelta(seconds=2)  # the rest of the window skipped
    assert sorted(j["id"] for j in jobs) == sorted(f["jobId"] for f in fired)
