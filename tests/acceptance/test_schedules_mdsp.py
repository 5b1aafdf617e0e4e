"""The official client, unchanged, against a real server: `mdsp schedules`.

template → create → info → list (with its filters) → stop → start → delete, as a user
types them; and a second-level schedule made by the client creates jobs that
`mdsp jobs --mode list` shows. The references are made through the HTTP API.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.mdsp import Mdsp
from tests.acceptance.server import ServerProcess
from tests.integration.jobs.api import zeppelin_note

pytestmark = pytest.mark.node

JM = "/api/jobmanager/v3"


def api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {server.token()}"}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return match.group(1)


def schedules(mdsp: Mdsp, cwd: Path, *args: str) -> str:
    return mdsp.run("schedules", *args, cwd=cwd).check().stdout


@pytest.fixture
def references(mdsp: Mdsp) -> dict[str, str]:
    """A Zeppelin model, a configuration and two folders of the client's tenant."""
    server = mdsp.server
    metadata = {"name": f"tick-{uuid.uuid4().hex[:6]}", "type": "zeppelin", "lastVersion": {}}
    model = api(
        server,
        "POST",
        "/api/modelmanagement/v3/models",
        files={
            "file": ("note.zpln", zeppelin_note("%python\nprint('tick')"), "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    configuration = api(server, "POST", "/api/prl/v3/configurations", json={"name": "small"})
    folders = [
        api(
            server,
            "POST",
            "/api/dataexchange/v3/directories",
            json={"name": f"{n}-{uuid.uuid4().hex[:6]}", "parentId": "_PUBLIC_ROOT_ID"},
        )
        for n in ("in", "out")
    ]
    for answer in (model, configuration, *folders):
        assert answer.status_code in (200, 201), answer.text
    return {
        "modelId": model.json()["id"],
        "configurationId": configuration.json()["id"],
        "inputFolderId": folders[0].json()["id"],
        "outputFolderId": folders[1].json()["id"],
    }


def test_template_create_info_list_stop_start_delete(
    mdsp: Mdsp, tmp_path: Path, references: dict[str, str]
) -> None:
    schedules(mdsp, tmp_path, "--mode", "template")
    template_file = tmp_path / "jobmanager.schedule.mdsp.json"
    template = json.loads(template_file.read_text())
    assert template["scheduleString"] == "1 1 * * *"
    name = f"nightly-{uuid.uuid4().hex[:8]}"
    template_file.write_text(json.dumps({**template, **references, "name": name}))

    created = schedules(mdsp, tmp_path, "--mode", "create", "--file", str(template_file))
    schedule_id = found(r"Created schedule (\S+) with status RUNNING", created)

    info = schedules(mdsp, tmp_path, "--mode", "info", "--scheduleid", schedule_id)
    assert f"Name: {name}" in info
    assert "Schedule String: 1 1 * * *" in info
    assert f"Model Id: {references['modelId']}" in info
    assert f"Configuration Id: {references['configurationId']}" in info
    assert "Max execution time: 3600" in info
    assert "Status: RUNNING" in info

    listed = schedules(mdsp, tmp_path, "--mode", "list", "--name", name)
    assert schedule_id in listed and "[1 1 * * *]" in listed
    assert "1 schedules listed." in listed
    by_model = schedules(mdsp, tmp_path, "--mode", "list", "--modelid", references["modelId"])
    assert schedule_id in by_model

    stopped = schedules(mdsp, tmp_path, "--mode", "stop", "--scheduleid", schedule_id)
    assert "Schedule status: STOPPED" in stopped
    listed = schedules(mdsp, tmp_path, "--mode", "list", "--name", name, "--status", "RUNNING")
    assert "0 schedules listed." in listed
    listed = schedules(mdsp, tmp_path, "--mode", "list", "--name", name, "--status", "STOPPED")
    assert schedule_id in listed

    started = schedules(mdsp, tmp_path, "--mode", "start", "--scheduleid", schedule_id)
    assert "Schedule status: RUNNING" in started

    deleted = schedules(mdsp, tmp_path, "--mode", "delete", "--scheduleid", schedule_id)
    assert f"Deleted schedule with id {schedule_id}" in deleted
    gone = mdsp.run("schedules", "--mode", "info", "--scheduleid", schedule_id, cwd=tmp_path)
    assert gone.code != 0
    assert "0 schedules listed." in schedules(mdsp, tmp_path, "--mode", "list", "--name", name)


def test_a_bad_schedule_string_is_refused_with_the_reason(
    mdsp: Mdsp, tmp_path: Path, references: dict[str, str]
) -> None:
    body = {**references, "name": "bad", "maximumExecutionTime": 3600, "scheduleString": "* *"}
    (tmp_path / "bad.json").write_text(json.dumps(body))
    answer = mdsp.run("schedules", "--mode", "create", "--file", "bad.json", cwd=tmp_path)
    assert answer.code != 0
    assert "scheduleString" in answer.stdout + answer.stderr


def test_a_schedule_made_by_the_client_creates_jobs(
    mdsp: Mdsp, tmp_path: Path, references: dict[str, str]
) -> None:
    body = {
        **references,
        "name": f"every-second-{uuid.uuid4().hex[:8]}",
        "maximumExecutionTime": "60",
        "scheduleString": "*/1 * * * * ?",
    }
    (tmp_path / "second.json").write_text(json.dumps(body))
    created = schedules(mdsp, tmp_path, "--mode", "create", "--file", "second.json")
    schedule_id = found(r"Created schedule (\S+) with status", created)
    try:
        deadline = time.monotonic() + 60
        jobs: list[dict[str, Any]] = []
        while not jobs and time.monotonic() < deadline:
            time.sleep(0.5)
            listing = api(mdsp.server, "GET", f"{JM}/jobs", params={"pageSize": 100}).json()
            jobs = [j for j in listing["jobs"] if j["scheduleId"] == schedule_id]
    finally:
        schedules(mdsp, tmp_path, "--mode", "stop", "--scheduleid", schedule_id)
    assert jobs, "the schedule created no job within a minute"
    listed = mdsp.run("jobs", "--mode", "list", "--modelid", references["modelId"], cwd=tmp_path)
    assert jobs[0]["id"] in listed.check().stdout
    schedules(mdsp, tmp_path, "--mode", "delete", "--scheduleid", schedule_id)
    remaining = api(mdsp.server, "GET", f"{JM}/jobs/{jobs[0]['id']}")
    assert remaining.status_code == 200  # a deleted schedule's jobs remain
