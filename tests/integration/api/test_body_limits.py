"""Request bodies are bounded: a JSON body over `max_json_bytes` answers 413 in the SPEC's
error format and changes nothing, whether it declares its length or streams; multipart
uploads keep their own limit. (Job parameters have a limit of their own: test_jobs_api.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import (
    DX,
    JOBS,
    make_folder,
    runnable_references,
    upload_file,
)

LIMIT = 4096


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.job_slots = 0
    settings.max_json_bytes = LIMIT
    return settings


@pytest.fixture
def job_body(client: TestClient, tenant_a: TenantClient) -> dict[str, Any]:
    return runnable_references(client, tenant_a)


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON of exactly `size` bytes (the padding is an ignored field)."""
    text = json.dumps({**body, "padding": ""})
    return json.dumps({**body, "padding": "p" * (size - len(text))}).encode()


def streamed(data: bytes) -> Iterator[bytes]:
    """The body in chunks, sent without a Content-Length."""
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


def test_a_body_at_the_limit_is_taken_one_byte_more_is_413(
    client: TestClient, tenant_a: TenantClient, job_body: dict[str, Any]
) -> None:
    headers = {**tenant_a.headers, "Content-Type": "application/json"}
    for content in (padded(job_body, LIMIT + 1), streamed(padded(job_body, LIMIT + 1))):
        error = assert_error(client.post(JOBS, headers=headers, content=content), 413)
        assert error["code"] == "jobmanager.payloadTooLarge"
        assert f"at most {LIMIT} bytes" in error["message"]
    assert client.get(JOBS, headers=tenant_a.headers).json()["jobs"] == []
    for content in (padded(job_body, LIMIT), streamed(padded(job_body, LIMIT))):
        assert client.post(JOBS, headers=headers, content=content).status_code == 201


def test_a_multipart_content_type_does_not_lift_the_limit_of_other_routes(
    client: TestClient, tenant_a: TenantClient, job_body: dict[str, Any]
) -> None:
    headers = {**tenant_a.headers, "Content-Type": "multipart/form-data; boundary=b"}
    for url in (JOBS, f"{DX}/directories", "/api/prl/v3/configurations"):
        answer = client.post(url, headers=headers, content=padded(job_body, LIMIT * 2))
        assert_error(answer, 413)


def test_every_operation_that_reads_a_body_documents_the_413(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method} {path}"
    assert "413" not in document["paths"][JOBS]["get"]["responses"]


def test_uploads_are_not_bounded_by_the_json_limit(
    client: TestClient, tenant_a: TenantClient
) -> None:
    folder = make_folder(client, tenant_a, "data")
    upload_file(client, tenant_a, folder, "big.bin", b"b" * (LIMIT * 4))
    listed = client.get(f"{DX}/directories/{folder}", headers=tenant_a.headers).json()
    assert [f["sizeInBytes"] for f in listed["files"]] == [LIMIT * 4]


def test_the_limit_is_checked_at_start_up() -> None:
    with pytest.raises(ValidationError, match="max_json_bytes"):
        Settings(max_json_bytes=10)
