"""Schemathesis sends generated requests, valid and invalid, to every operation of a real
server's OpenAPI document, with every check: no answer is a server error, each status
and body is one the document lists, a valid request is accepted and an invalid one
refused, and a 405 names the methods the path serves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.api import Caller, note
from tests.acceptance.fuzz_hooks import NAMED_DESTINATION
from tests.acceptance.server import ServerProcess

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    # One job at a time: valid job requests start real jobs.
    quiet = {"JOBMANAGER_JOB_SLOTS": "1", "JOBMANAGER_WARM_ENVIRONMENTS": "0"}
    quiet["JOBMANAGER_NETWORK_DESTINATIONS"] = json.dumps({NAMED_DESTINATION: "10.1.2.3:443"})
    process = ServerProcess(tmp_path / "home", extra_env=quiet).start()
    yield process
    process.stop()


def existing_ids(caller: Caller) -> dict[str, str]:
    """Resources a valid request may name (see `fuzz_hooks`). A job that runs all along
    keeps its model and configuration from being deleted by a generated request; with
    the one environment of the configuration busy, other jobs fail at once."""
    model = caller.model(note("%python\nimport time\ntime.sleep(900)"))
    version = caller.http.get(f"/api/modelmanagement/v3/models/{model}").json()["lastVersion"]
    configuration = caller.configuration(whenBusy="fail", maxEnvironments=1)
    caller.submit(model, configuration, "_PUBLIC_ROOT_ID")
    return {
        "modelId": model,
        "modelVersionId": version["id"],
        "configurationId": configuration,
        "inputFolderId": "_PUBLIC_ROOT_ID",
        "outputFolderId": "_PUBLIC_ROOT_ID",
    }


def test_generated_requests_get_the_answers_the_document_promises(
    server: ServerProcess, tmp_path: Path
) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency"
    caller = Caller(server.url, server.token())
    try:
        ids = existing_ids(caller)
    finally:
        caller.close()
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.acceptance.fuzz_hooks",
        "JOBMANAGER_FUZZ_IDS": json.dumps(ids),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            schemathesis,
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {server.token()}",
            "--checks",
            "all",
            "--max-examples",
            "10",
            "--workers",
            "1",  # one at a time: a scenario deleting what another's list showed it is no bug
            "--seed",
            "7",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # schemathesis keeps its state in the working directory
        env=env,
    )
    assert result.returncode == 0, failures(result.stdout)
    assert "status=500" not in server.log() and "Traceback" not in server.log()


def failures(report: str) -> str:
    """The report's failures, each with what made its request invalid, ahead of the
    bodies that follow (a generated body can run to pages)."""
    start = report.find("= FAILURES =")
    described = [line for line in report.splitlines() if "Invalid component" in line]
    return "\n".join(described) + "\n" + report[max(start, 0) :][:8000]
