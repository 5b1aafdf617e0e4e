"""The official client, unchanged, runs `mdsp jobs` against a real server process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.mdsp import Mdsp
from tests.acceptance.server import ServerProcess

pytestmark = pytest.mark.node


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return match.group(1)


def test_create_info_list_and_stop(
    mdsp: Mdsp,
    mdsp_server: ServerProcess,
    tmp_path: Path,
    caller_of: Callable[[ServerProcess], Caller],
) -> None:
    caller = caller_of(mdsp_server)
    output = caller.folder("mdsp-jobs-out")
    job_file = tmp_path / "job.json"
    job_file.write_text(
        json.dumps(
            {
                "modelId": caller.model(note("%python\nimport time\ntime.sleep(60)"), "slow"),
                "configurationId": caller.configuration(),
                "inputFolderId": "_PUBLIC_ROOT_ID",
                "outputFolderId": output,
                "maximumExecutionTimeInSeconds": "600",
            }
        )
    )
    created = mdsp.run("jobs", "--mode", "create", "--file", str(job_file)).check()
    job_id = found(r"created job (\S+) with status", created.stdout)
    assert "SUBMITTED" in created.stdout

    caller.wait(job_id, lambda j: j["status"] == "RUNNING")
    info = mdsp.run("jobs", "--mode", "info", "--jobid", job_id).check()
    assert found(r"Status: (\S+)", info.stdout) == "RUNNING"
    assert found(r"Id: (\S+)", info.stdout) == job_id
    assert found(r"Created by: (\S+)", info.stdout) == "dev"
    assert "Started notebook execution." in info.stdout

    listed = mdsp.run("jobs", "--mode", "list", "--status", "RUNNING").check()
    assert job_id in listed.stdout

    stopped = mdsp.run("jobs", "--mode", "stop", "--jobid", job_id).check()
    assert "STOPPING" in stopped.stdout
    final = caller.wait(job_id, lambda j: j["status"] in FINAL)
    assert final["status"] == "STOPPED"

    after = mdsp.run("jobs", "--mode", "list", "--status", "STOPPED").check()
    assert job_id in after.stdout
    assert after.stdout.count(job_id) == 1


def test_unknown_job_fails_the_command(mdsp: Mdsp) -> None:
    result = mdsp.run("jobs", "--mode", "info", "--jobid", "no-such-job")
    assert result.code != 0
    assert "404" in result.stdout + result.stderr or "not found" in result.stdout + result.stderr
