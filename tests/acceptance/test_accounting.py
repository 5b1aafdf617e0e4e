"""Accounting from a real `jobmanager serve`: a job that allocates 200 MB says so, its
phases add up to its span, and `jobmanager jobs info` shows the figures."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess

server = module_server()

MIB = 1024 * 1024
ALLOCATES_200_MB = note(
    "%python\nimport time\nblock = b'x' * (200 * 1024 * 1024)\ntime.sleep(1.5)\n"
    "total = sum(range(3_000_000))\nprint(len(block))",
    "%python\nopen(outputFolder + '/result.txt', 'w').write('r' * 5000)",
)
PHASES = ("queuedSeconds", "startingSeconds", "runningSeconds", "savingSeconds")


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    return Cli.for_server(tmp_path, server)


@pytest.fixture
def caller(server: ServerProcess, caller_of: Callable[[ServerProcess], Caller]) -> Caller:
    return caller_of(server)


def input_folder(caller: Caller, data: bytes) -> str:
    folder = caller.folder(f"in-{uuid.uuid4().hex[:8]}")
    caller.upload(folder, "data.bin", data)
    return folder


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def finished_job(caller: Caller) -> dict[str, Any]:
    output = caller.folder(f"out-{uuid.uuid4().hex[:8]}")
    job_id = caller.submit(
        caller.model(ALLOCATES_200_MB),
        caller.configuration(),
        output,
        inputFolderId=input_folder(caller, b"d" * 70_000),
    )
    return caller.wait(job_id, lambda job: job["status"] in FINAL)


def test_a_job_that_allocates_200_mb_accounts_for_it(caller: Caller) -> None:
    job = finished_job(caller)
    assert job["status"] == "SUCCEEDED", job["message"]
    figures = job["accounting"]
    assert 200 * MIB <= figures["peakMemoryBytes"] < 3 * 1024 * MIB
    assert figures["usageSource"] in ("cgroup", "processes")
    assert figures["cpuSeconds"] > 0
    assert figures["runningSeconds"] >= 1.5  # the paragraph sleeps that long
    span = (moment(job["endDate"]) - moment(job["creationDate"])).total_seconds()
    assert sum(figures[phase] for phase in PHASES) == pytest.approx(span, abs=0.5)
    assert figures["bytesIn"] == 70_000
    assert figures["bytesOut"] > 5000  # result.txt and the executed note
    listed = caller.http.get("/api/jobmanager/v3/jobs").json()["jobs"]
    assert next(j for j in listed if j["id"] == job["id"])["accounting"] == figures


def test_jobs_info_shows_the_figures(caller: Caller, cli: Cli) -> None:
    job = finished_job(caller)
    shown = cli("jobs", "info", job["id"]).assert_ok()
    lines = {line.split("  ")[0].strip(): line for line in shown.stdout.splitlines()}
    assert "MiB" in lines["peak memory"]
    assert " s" in lines["CPU time"] and " s" in lines["running"]
    assert "68.4 KiB" in lines["bytes in"]
