"""Bounded request bodies on a real `jobmanager serve`: a 100 MiB JSON body is refused with
413 quickly, whether it declares its length or streams or claims to be multipart, and the
server's memory stays where it was; a name under the body limit but too long is a quick
400."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.acceptance.server import ServerProcess

MIB = 1024 * 1024
HUGE = 100 * MIB


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("limits") / "home").start()
    yield process
    process.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {server.token()}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        yield client


def resident_bytes(server: ServerProcess) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def huge_job_body() -> bytes:
    """A job whose `parameters` hold 100 MiB of text: valid JSON, far too large."""
    head = b'{"modelId":"m","configurationId":"c","inputFolderId":"i","outputFolderId":"o",'
    return head + b'"parameters":{"blob":"' + b"x" * HUGE + b'"}}'


def chunks(data: bytes, size: int = MIB) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])


def assert_413(answer: httpx.Response) -> None:
    assert answer.status_code == 413, answer.text[:300]
    (error,) = answer.json()["errors"]
    assert error["code"] == "jobmanager.payloadTooLarge"
    assert str(MIB) in error["message"]


def test_a_100_mib_json_body_is_refused_fast_without_growing_the_server(
    server: ServerProcess, api: httpx.Client
) -> None:
    body = huge_job_body()
    before = resident_bytes(server)
    started = time.monotonic()
    assert_413(api.post("/api/jobmanager/v3/jobs", content=body, headers=JSON))
    streamed = api.post("/api/jobmanager/v3/jobs", content=chunks(body), headers=JSON)
    assert_413(streamed)
    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    assert_413(api.post("/api/jobmanager/v3/jobs", content=chunks(body), headers=multipart))
    assert time.monotonic() - started < 20
    assert resident_bytes(server) - before < 20 * MIB
    assert api.get("/api/jobmanager/v3/jobs").json()["page"]["totalElements"] == 0


def test_a_100_mib_directory_name_is_refused_fast(server: ServerProcess, api: httpx.Client) -> None:
    body = b'{"parentId":"_PUBLIC_ROOT_ID","name":"' + b"d" * HUGE + b'"}'
    started = time.monotonic()
    assert_413(api.post("/api/dataexchange/v3/directories", content=body, headers=JSON))
    under_the_limit = json.dumps({"parentId": "_PUBLIC_ROOT_ID", "name": "d" * (MIB - 100)})
    answer = api.post("/api/dataexchange/v3/directories", content=under_the_limit, headers=JSON)
    assert answer.status_code == 400 and "name" in answer.json()["errors"][0]["message"]
    assert time.monotonic() - started < 10
    assert api.get("/api/dataexchange/v3/directories/_PUBLIC_ROOT_ID").json()["directories"] == []


JSON = {"Content-Type": "application/json"}
