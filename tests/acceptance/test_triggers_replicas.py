"""Two real `jobmanager serve` replicas on one PostgreSQL database, both firing: files
uploaded through the API (to either replica) fire a data-arrival schedule, and each
upload is in exactly one firing, which made exactly one job.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.acceptance.api import upload_csv
from tests.acceptance.server import ServerProcess
from tests.acceptance.test_schedules_replicas import (  # noqa: F401 - fixtures
    cluster_database,
    every_page,
    replicas,
    runnable_references,
    short_tmp,
    token,
)

JM = "/api/jobmanager/v3"
DX = "/api/dataexchange/v3"
UPLOADS = 12


def firings_of(http: httpx.Client, schedule_id: str) -> list[dict[str, Any]]:
    return every_page(http, f"{JM}/schedules/{schedule_id}/firings", "firings")


def test_uploads_to_either_replica_fire_exactly_once(request: pytest.FixtureRequest) -> None:
    servers: list[ServerProcess]
    servers, credentials = request.getfixturevalue("replicas")  # both serve, both fire
    a, b = servers
    headers = token(a, credentials.client_id, credentials.client_secret)
    with (
        httpx.Client(base_url=a.url, headers=headers, timeout=30) as http_a,
        httpx.Client(base_url=b.url, headers=headers, timeout=30) as http_b,
    ):
        references = runnable_references(http_a)
        watched = http_a.post(
            f"{DX}/directories", json={"name": "incoming", "parentId": "_PUBLIC_ROOT_ID"}
        ).json()["id"]
        body = {
            **references,
            "name": "on csv",
            "trigger": {"folderId": watched, "pattern": "*.csv"},
            "maximumExecutionTime": "60",
            "overlap": "allow",
        }
        created = http_b.post(f"{JM}/schedules", json=body)
        assert created.status_code == 201, created.text
        schedule_id = created.json()["id"]

        upload_csv(http_a, watched, "first.csv")
        deadline = time.monotonic() + 30
        while not firings_of(http_a, schedule_id):
            assert time.monotonic() < deadline, "the upload fired nothing"
            time.sleep(0.1)
        time.sleep(1)  # a second firing, if any replica were to make one, would be in by now
        (first,) = firings_of(http_b, schedule_id)
        assert [f["name"] for f in first["files"]] == ["first.csv"]

        for n in range(UPLOADS):
            upload_csv((http_a, http_b)[n % 2], watched, f"{n:02}.csv")
            upload_csv(http_a, watched, f"ignored-{n}.txt")
            time.sleep(0.15)
        names = [f"{n:02}.csv" for n in range(UPLOADS)]
        while True:
            fired = firings_of(http_a, schedule_id)
            if sum(len(f["files"]) for f in fired) >= UPLOADS + 1:
                break
            assert time.monotonic() < deadline + 60, f"uploads never fired: {fired}"
            time.sleep(0.2)
        time.sleep(1)
        fired = firings_of(http_a, schedule_id)
        jobs = [
            job
            for job in every_page(http_a, f"{JM}/jobs", "jobs")
            if job["scheduleId"] == schedule_id
        ]
    listed = sorted(f["name"] for firing in fired for f in firing["files"])
    assert listed == sorted(["first.csv", *names])  # each upload once, nothing else
    assert [f["outcome"] for f in fired] == ["created"] * len(fired)
    assert sorted(job["id"] for job in jobs) == sorted(f["jobId"] for f in fired)
    for server in (a, b):
        assert "Traceback" not in server.log(), server.log()[-3000:]
