"""The streaming multipart reader, through a small real app and its HTTP client."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobmanager.api.errors import install_error_handlers
from jobmanager.api.multipart import FIELD_LIMIT, read_multipart
from jobmanager.domain.errors import Conflict
from jobmanager.store.blobs import LocalBlobStore
from tests.conftest import assert_error

LIMIT = 64 * 1024
OFFICIAL_TYPE = "multipart/form-data; boundary=--mindsphere"


def official_body(payload: bytes, filename: str, mime: str, metadata: str) -> bytes:
    """The bytes the official client's template builds: leading newline, boundary --mindsphere."""
    return (
        b"\n----mindsphere\r\n"
        + f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode()
        + f"Content-Type: {mime}\r\n\r\n".encode()
        + payload
        + b"\r\n----mindsphere\r\n"
        + b'Content-Disposition: form-data; name="metadata"\r\n'
        + b"Content-Type: application/json\r\n\r\n"
        + metadata.encode()
        + b"\r\n\r\n----mindsphere--"
    )


def body_of(parts: list[tuple[str, str | None, str, bytes]], boundary: str = "b0undary") -> bytes:
    """A plain multipart body from (name, filename, content type, data) tuples."""
    out = b""
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def client(blobs: LocalBlobStore) -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/upload")
    async def upload(request: Request) -> dict[str, Any]:
        result = await read_multipart(request, blobs, LIMIT)
        return {
            "key": result.blob_key,
            "size": result.size,
            "filename": result.filename,
            "contentType": result.content_type,
            "metadata": result.metadata,
            "fields": result.fields,
        }

    @app.post("/fails-after-upload")
    async def fails(request: Request) -> None:
        result = await read_multipart(request, blobs, LIMIT)
        with result.discard_on_error():
            raise Conflict("the record could not be stored")

    with TestClient(app) as test_client:
        yield test_client


def stored_blobs(blobs: LocalBlobStore) -> list[str]:
    return sorted(p.name for p in blobs.root.rglob("*") if p.is_file())


def in_chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_official_client_bytes_are_accepted(client: TestClient, blobs: LocalBlobStore) -> None:
    payload = b'{"empty": "model"}'
    metadata = json.dumps({"name": "m", "type": False})
    body = official_body(payload, "model.json", "application/json", metadata)
    response = client.post("/upload", content=body, headers={"Content-Type": OFFICIAL_TYPE})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["size"] == len(payload)
    assert result["filename"] == "model.json"
    assert result["contentType"] == "application/json"
    assert result["metadata"] == {"name": "m", "type": False}
    assert b"".join(blobs.read_chunks(result["key"])) == payload
    assert stored_blobs(blobs) == [result["key"]]


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_any_chunking_gives_the_same_result(
    client: TestClient, blobs: LocalBlobStore, chunk_size: int
) -> None:
    payload = bytes(range(256)) * 40 + b"\r\n--mindsphere\r\n" + b"--" * 100
    body = official_body(payload, "x.bin", "application/octet-stream", "{}")
    response = client.post(
        "/upload", content=in_chunks(body, chunk_size), headers={"Content-Type": OFFICIAL_TYPE}
    )
    assert response.status_code == 200, response.text
    assert b"".join(blobs.read_chunks(response.json()["key"])) == payload


def test_metadata_before_file_and_other_fields(client: TestClient, blobs: LocalBlobStore) -> None:
    payload = os.urandom(LIMIT)  # exactly at the limit is allowed
    body = body_of(
        [
            ("metadata", None, "application/json", b'{"a": [1, 2]}'),
            ("note", None, "text/plain", "grüße".encode()),
            ("file", "data.bin", "application/octet-stream", payload),
        ]
    )
    headers = {"Content-Type": 'multipart/form-data; boundary="b0undary"'}
    response = client.post("/upload", content=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["metadata"] == {"a": [1, 2]}
    assert result["fields"] == {"note": "grüße"}
    assert result["size"] == LIMIT
    assert b"".join(blobs.read_chunks(result["key"])) == payload


def test_no_metadata_part_gives_none(client: TestClient) -> None:
    body = body_of([("file", "f", "text/plain", b"hello")])
    response = client.post(
        "/upload", content=body, headers={"Content-Type": "multipart/form-data; boundary=b0undary"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] is None


def test_file_over_the_limit_is_413_and_stores_nothing(
    client: TestClient, blobs: LocalBlobStore
) -> None:
    body = official_body(b"x" * (LIMIT + 1), "big.bin", "application/octet-stream", "{}")
    response = client.post("/upload", content=body, headers={"Content-Type": OFFICIAL_TYPE})
    assert response.status_code == 413
    assert "file" in response.json()["errors"][0]["message"]
    assert stored_blobs(blobs) == []


def test_large_metadata_is_413(client: TestClient, blobs: LocalBlobStore) -> None:
    metadata = json.dumps({"x": "y" * FIELD_LIMIT})
    body = official_body(b"data", "f", "text/plain", metadata)
    response = client.post("/upload", content=body, headers={"Content-Type": OFFICIAL_TYPE})
    assert response.status_code == 413
    assert "metadata" in response.json()["errors"][0]["message"]
    assert stored_blobs(blobs) == []


@pytest.mark.parametrize(
    ("metadata", "says"),
    [("{not json", "metadata"), ("[1, 2]", "metadata"), ("", "metadata")],
)
def test_bad_metadata_is_400(
    client: TestClient, blobs: LocalBlobStore, metadata: str, says: str
) -> None:
    body = official_body(b"data", "f", "text/plain", metadata)
    response = client.post("/upload", content=body, headers={"Content-Type": OFFICIAL_TYPE})
    assert response.status_code == 400
    assert says in response.json()["errors"][0]["message"]
    assert stored_blobs(blobs) == []


def test_bad_bodies_are_400_and_store_nothing(client: TestClient, blobs: LocalBlobStore) -> None:
    headers = {"Content-Type": OFFICIAL_TYPE}
    complete = official_body(b"payload", "f", "text/plain", "{}")
    cases = {
        "missing file": body_of([("metadata", None, "application/json", b"{}")], "--mindsphere"),
        "truncated": complete[: complete.index(b"payload") + 4],
        "no closing delimiter": complete[: complete.rindex(b"----mindsphere--")],
        "garbage": b"this is not multipart at all",
        "two files": body_of(
            [("file", "a", "text/plain", b"a"), ("file", "b", "text/plain", b"b")], "--mindsphere"
        ),
    }
    for name, body in cases.items():
        response = client.post("/upload", content=body, headers=headers)
        assert response.status_code == 400, (name, response.text)
    assert "'file'" in client.post("/upload", content=cases["missing file"], headers=headers).text
    assert stored_blobs(blobs) == []


@pytest.mark.parametrize(
    "content_type", ["application/json", "multipart/form-data", "text/plain; boundary=x", ""]
)
def test_wrong_content_type_is_400(client: TestClient, content_type: str) -> None:
    body = official_body(b"payload", "f", "text/plain", "{}")
    response = client.post("/upload", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "Content-Type" in response.json()["errors"][0]["message"]


def test_discard_on_error_deletes_the_blob(client: TestClient, blobs: LocalBlobStore) -> None:
    body = official_body(b"payload", "f", "text/plain", "{}")
    response = client.post(
        "/fails-after-upload", content=body, headers={"Content-Type": OFFICIAL_TYPE}
    )
    assert response.status_code == 409
    assert stored_blobs(blobs) == []


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("Zeppelin • note.zpln", "Zeppelin • note.zpln"),
        ("日本語.ipynb", "日本語.ipynb"),
        ("a, b | c.json", "a, b | c.json"),
        ('say \\"hi\\".txt', 'say "hi".txt'),
        ("semi; colon.txt", "semi; colon.txt"),
        ("", ""),
    ],
)
def test_filenames_are_utf8_text(client: TestClient, filename: str, shown: str) -> None:
    body = official_body(b"x", filename, "text/plain", "{}")
    answer = client.post("/upload", content=body, headers={"Content-Type": OFFICIAL_TYPE})
    assert answer.status_code == 200, answer.text
    assert answer.json()["filename"] == shown


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=40).filter(lambda b: b'"' not in b and b"\r" not in b))
def test_any_filename_bytes_answer_200_or_400(client: TestClient, raw: bytes) -> None:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="'
        + raw
        + b'"\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n'
    )
    answer = client.post(
        "/upload", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 400:
        assert "filename" in answer.json()["errors"][0]["message"] or b"\n" in raw


def test_part_names_and_filenames_outside_latin_1_are_read(
    client: TestClient, blobs: LocalBlobStore
) -> None:
    body = body_of(
        [
            ("file", "Bericht • März.zpln", "application/json", b"{}"),
            ("notiz•", None, "text/plain", b"x"),
        ]
    )
    headers = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    response = client.post("/upload", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["filename"] == "Bericht • März.zpln"
    assert response.json()["fields"] == {"notiz•": "x"}


def test_a_field_other_than_metadata_may_come_twice(client: TestClient) -> None:
    """Only `file` and `metadata` must be unique; another field's last value counts."""
    body = body_of(
        [
            ("note", None, "text/plain", b"first"),
            ("note", None, "text/plain", b"second"),
            ("file", "f", "text/plain", b"hello"),
        ]
    )
    headers = {"Content-Type": "multipart/form-data; boundary=b0undary"}
    response = client.post("/upload", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == {"note": "second"}
    twice = body_of(
        [
            ("metadata", None, "application/json", b"{}"),
            ("metadata", None, "application/json", b"{}"),
            ("file", "f", "text/plain", b"hello"),
        ]
    )
    assert_error(client.post("/upload", content=twice, headers=headers), 400)
