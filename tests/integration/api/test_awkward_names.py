"""No name answers 500: awkward file, folder and model names over HTTP, on SQLite and
PostgreSQL, in the multipart `content-disposition` (as the official client sends them)
and in JSON. A name the rules allow round-trips; any other answers 400 and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantClient
from tests.unit.test_multipart import OFFICIAL_TYPE, official_body

DX = "/api/dataexchange/v3"
MODELS = "/api/modelmanagement/v3/models"
PUBLIC = "_PUBLIC_ROOT_ID"

AWKWARD = [
    "Zeppelin • note",
    "日本語のノート",
    "naïve café",
    "emoji 🚀",
    "a, b",
    "a | b",
    'quote " inside',
    "single ' quote",
    "semi; colon",
    "back\\slash",
    "C:\\\\path\\\\name",
    "x=1; filename=y",
    "  spaced  ",
    "",
    ".",
    "..",
    "a/b",
    "tab\there",
    "nul\x00byte",
    "line\nbreak",
    "\u2028separator",
    "lone \udc80 surrogate",
    "x" * 300,
]


def upload_body(name: str, metadata: Mapping[str, object]) -> bytes:
    """The official client's body with `name` as the part's filename."""
    return official_body(b'{"empty": "model"}', name, "application/json", json.dumps(metadata))


def post(client: TestClient, tenant: TenantClient, url: str, body: bytes) -> int:
    headers = {**tenant.headers, "Content-Type": OFFICIAL_TYPE, "Accept": "*/*"}
    return int(client.post(url, content=body, headers=headers).status_code)


def safe(name: str) -> str:
    """`name` as a client can send it in UTF-8: a lone surrogate becomes U+FFFD."""
    return name.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@pytest.mark.parametrize("name", AWKWARD, ids=range(len(AWKWARD)))
def test_file_names_in_the_disposition_and_in_metadata(
    client: TestClient, tenant_a: TenantClient, name: str
) -> None:
    metadata = {"parentId": PUBLIC, "type": False}
    by_filename = post(client, tenant_a, f"{DX}/files", upload_body(safe(name), metadata))
    by_metadata = post(
        client, tenant_a, f"{DX}/files", upload_body("f", {**metadata, "name": safe(name)})
    )
    assert {by_filename, by_metadata} <= {201, 400, 409}, name
    listed = client.get(f"{DX}/directories/{PUBLIC}", headers=tenant_a.headers).json()
    stored = [f["name"] for f in listed["files"]]
    assert len(stored) == (1 if 201 in (by_filename, by_metadata) else 0)
    if by_metadata == 201:  # a filename that is a Windows path is cut to its last part
        assert stored == [safe(name)]


@pytest.mark.parametrize("name", AWKWARD, ids=range(len(AWKWARD)))
def test_folder_names(client: TestClient, tenant_a: TenantClient, name: str) -> None:
    answer = client.post(
        f"{DX}/directories",
        headers=tenant_a.headers,
        content=json.dumps({"name": name, "parentId": PUBLIC}),
    )
    assert answer.status_code in (201, 400), answer.text
    listed = client.get(f"{DX}/directories/{PUBLIC}", headers=tenant_a.headers).json()
    names = [d["name"] for d in listed["directories"]]
    assert names == ([answer.json()["name"]] if answer.status_code == 201 else [])


@pytest.mark.parametrize("name", AWKWARD, ids=range(len(AWKWARD)))
def test_model_names_in_the_disposition_and_in_metadata(
    client: TestClient, tenant_a: TenantClient, name: str
) -> None:
    metadata = {"name": safe(name), "type": "core.basicmodel", "lastVersion": {}}
    status = post(client, tenant_a, MODELS, upload_body(safe(name), metadata))
    assert status in (201, 400), name
    models = client.get(MODELS, headers=tenant_a.headers).json()["models"]
    assert [m["name"] for m in models] == ([safe(name)] if status == 201 else [])
    if status == 201:
        renamed = client.patch(
            f"{MODELS}/{models[0]['id']}",
            headers={**tenant_a.headers, "Content-Type": "application/json"},
            content=json.dumps({"name": name + "2"}),
        )
        assert renamed.status_code in (200, 400), renamed.text
        version = client.get(
            f"{MODELS}/{models[0]['id']}/versions/last",
            headers={**tenant_a.headers, "Content-Type": "application/octet-stream"},
        )
        assert version.status_code == 200


@pytest.mark.parametrize("name", ["Zeppelin • note", "a, b | c", "model (v2), final|draft"])
def test_display_names_data_exchange_allows_are_model_names(
    client: TestClient, tenant_a: TenantClient, name: str
) -> None:
    metadata = {"name": name, "type": "core.basicmodel", "lastVersion": {}}
    assert post(client, tenant_a, MODELS, upload_body(f"{name}.json", metadata)) == 201
    assert [m["name"] for m in client.get(MODELS, headers=tenant_a.headers).json()["models"]] == [
        name
    ]
