"""Two real `jobmanager serve` replicas on one PostgreSQL database fire a second-level
schedule for a minute: every fire time makes exactly one job, and none is missed.

Both replicas run their scheduler; they share the database, the signing keys and the
blob folder, as a cluster deployment does. The jobs may run or wait; the test counts
their creation.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.acceptance.server import ServerProcess
from tests.conftest import own_postgres_database
from tests.integration.jobs.api import zeppelin_note

JM = "/api/jobmanager/v3"
FIRINGS_WANTED = 150  # two and a half minutes of second-level firings


@pytest.fixture
def cluster_database() -> Iterator[str]:
    """A database of its own for this test, dropped after it."""
    with own_postgres_database("jm_replicas") as url:
        yield url


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short folder: kernel sockets live under the home, and socket paths are limited
    to 107 bytes (pytest's `tmp_path` is too deep for them)."""
    folder = Path(tempfile.mkdtemp(prefix="jm-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def replicas(short_tmp: Path, cluster_database: str) -> Iterator[tuple[list[ServerProcess], Any]]:
    """Two servers on the database, and the credentials of a tenant made by the operator."""
    tmp_path = short_tmp
    admin_home = tmp_path / "admin"
    services = Services.open(Settings(home=admin_home, database_url=cluster_database))
    services.store.tenants.create("acme")
    credentials = services.store.tenants.create_credentials("acme")
    services.close()
    env = {
        "JOBMANAGER_DATABASE_URL": cluster_database,
        "JOBMANAGER_BLOB_URL": str(tmp_path / "blobs"),
        "JOBMANAGER_JOB_SLOTS": "1",
        "JOBMANAGER_WARM_ENVIRONMENTS": "0",
    }
    servers = []
    for name in ("a", "b"):
        home = tmp_path / name / "home"
        shutil.copytree(admin_home / "keys", home / "keys")
        servers.append(ServerProcess(home, extra_env=env))
    try:
        for server in servers:
            server.start()
        yield servers, credentials
    finally:
        for server in servers:
            server.stop()


def token(server: ServerProcess, client_id: str, secret: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def runnable_references(http: httpx.Client) -> dict[str, str]:
    """A Zeppelin model, a configuration and two folders, made through the API."""
    metadata = {"name": "tick", "description": "", "type": "zeppelin", "lastVersion": {}}
    model = http.post(
        "/api/modelmanagement/v3/models",
        files={
            "file": ("note.zpln", zeppelin_note("%python\nprint('tick')"), "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    configuration = http.post("/api/prl/v3/configurations", json={"name": "small"})
    folders = [
        http.post(
            "/api/dataexchange/v3/directories", json={"name": n, "parentId": "_PUBLIC_ROOT_ID"}
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


def every_page(http: httpx.Client, path: str, key: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 0
    while True:
        body = http.get(path, params={"pageNumber": page, "pageSize": 100}).json()
        items.extend(body[key])
        page += 1
        if page >= body["page"]["totalPages"]:
            return items


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_two_replicas_fire_each_second_exactly_once(
    replicas: tuple[list[ServerProcess], Any],
) -> None:
    (a, b), credentials = replicas
    headers = token(a, credentials.client_id, credentials.client_secret)
    with httpx.Client(base_url=a.url, headers=headers, timeout=30) as http_a:
        body = {
            **runnable_references(http_a),
            "name": "every second",
            "scheduleString": "*/1 * * * * ?",
            "maximumExecutionTime": "60",
            "overlap": "allow",
        }
        with httpx.Client(base_url=b.url, headers=headers, timeout=30) as http_b:
            created = http_b.post(f"{JM}/schedules", json=body)  # made on b, fired by both
        assert created.status_code == 201, created.text
        schedule_id = created.json()["id"]
        firings_path = f"{JM}/schedules/{schedule_id}/firings"
        deadline = time.monotonic() + FIRINGS_WANTED + 60
        while time.monotonic() < deadline:
            total = http_a.get(firings_path, params={"pageSize": 1}).json()["page"]
            if total["totalElements"] >= FIRINGS_WANTED:
                break
            time.sleep(1)
        stopped = http_a.post(f"{JM}/schedules/{schedule_id}/stop")
        assert stopped.json()["status"] == "STOPPED"
        fired = sorted(every_page(http_a, firings_path, "firings"), key=lambda f: f["fireTime"])
        jobs = [
            job
            for job in every_page(http_a, f"{JM}/jobs", "jobs")
            if job["scheduleId"] == schedule_id
        ]
    assert len(fired) >= FIRINGS_WANTED, "the replicas fired too few times"
    assert [f["outcome"] for f in fired] == ["created"] * len(fired)
    times = [instant(f["fireTime"]) for f in fired]
    assert times == [times[0] + timedelta(seconds=n) for n in range(len(times))], "a second missed"
    assert sorted(job["id"] for job in jobs) == sorted(f["jobId"] for f in fired)
    assert len({job["id"] for job in jobs}) == len(fired)  # one job per firing, none twice
    for server in (a, b):
        assert "Traceback" not in server.log(), server.log()[-3000:]
