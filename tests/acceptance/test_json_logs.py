"""`JOBMANAGER_LOG_FORMAT=json`: every line a real server writes is a JSON object, and
the lines of a job run and of an error answer carry the job id, tenant and logref."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.acceptance.api import FINAL, JOBS, Caller, note
from tests.acceptance.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("json-logs") / "home"
    process = ServerProcess(home, extra_env={"JOBMANAGER_LOG_FORMAT": "json"}).start()
    yield process
    process.stop()


def log_lines(server: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def test_the_lines_parse_and_carry_the_job_tenant_and_logref(
    server: ServerProcess, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    caller = caller_of(server)
    output = caller.folder(f"out-{uuid.uuid4().hex[:8]}")
    job_id = caller.submit(caller.model(note("%python\nprint(1)")), caller.configuration(), output)
    job = caller.wait(job_id, lambda j: j["status"] in FINAL)
    missing = caller.http.get(f"{JOBS}/{uuid.uuid4()}")
    assert missing.status_code == 404
    logref = missing.json()["errors"][0]["logref"]

    lines = log_lines(server)  # each one parses
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    ended = [line for line in lines if line.get("job") == job_id]
    assert ended and ended[-1]["message"].startswith(f"job {job_id} ended {job['status']}")
    tenant = ended[-1]["tenant"]
    (error,) = [line for line in lines if line.get("logref") == logref]
    assert error["tenant"] == tenant and error["level"] == "INFO"
    assert "status=404" in error["message"]
