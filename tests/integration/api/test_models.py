"""Model Management v3 through HTTP (SPEC §2), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from jobmanager.domain.errors import Conflict, NotFound
from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.models import ModelSpec, Payload, VersionSpec
from jobmanager.store.tables import Job
from tests.conftest import TenantClient, assert_error
from tests.unit.test_multipart import OFFICIAL_TYPE, official_body

BASE = "/api/modelmanagement/v3"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
JSON_GET = {"Content-Type": "application/json", "Accept": "*/*"}

ZEPPELIN_NOTE = {
    "name": "note",
    "paragraphs": [{"text": "%python\nprint(1)", "config": {}}],
    "config": {},
}
JUPYTER_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "source": "print(1)",
            "metadata": {},
            "outputs": [],
        }
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}
FULL_VERSION = {
    "expirationDate": "2030-10-01T12:00:00.001Z",
    "dependencies": [{"name": "sklearn-theano", "type": "Python", "version": "1.7, 5.2.6"}],
    "io": {
        "consumes": "CSV/XML/Parquet",
        "input": [{"name": "t1", "type": "integer", "description": "sensor", "value": 5}],
        "output": [{"name": "t2", "type": "integer", "description": "out", "value": None}],
        "optionalParameters": {"freeFormParams": "for the author to use"},
    },
    "producedBy": ["951b3240-7857-11e8-adc0-fa7ae01bbebc"],
    "kpi": [{"name": "error rate", "value": "0.9"}],
}


def post_official(
    client: TestClient,
    tenant: TenantClient,
    url: str,
    metadata: dict[str, Any],
    payload: bytes,
    filename: str = "model.json",
    mime: str = "application/json",
) -> httpx.Response:
    """POST exactly the bytes the official client builds."""
    body = official_body(payload, filename, mime, json.dumps(metadata))
    headers = {**tenant.headers, "Content-Type": OFFICIAL_TYPE, "Accept": "*/*"}
    answer: httpx.Response = client.post(url, content=body, headers=headers)
    return answer


def create_model(
    client: TestClient,
    tenant: TenantClient,
    payload: bytes = b'{"empty": "model"}',
    name: str = "model",
    **fields: Any,
) -> dict[str, Any]:
    metadata = {"name": name, "type": "core.basicmodel", "lastVersion": {}, **fields}
    answer = post_official(client, tenant, f"{BASE}/models", metadata, payload)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def add_version(
    client: TestClient, tenant: TenantClient, model_id: str, payload: bytes, **fields: Any
) -> dict[str, Any]:
    url = f"{BASE}/models/{model_id}/versions"
    answer = post_official(client, tenant, url, fields, payload, "v.bin", "application/x-thing")
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def stored_blobs(settings: Settings) -> list[Path]:
    root = Path(settings.resolved_blob_url)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def download(client: TestClient, tenant: TenantClient, url: str) -> httpx.Response:
    headers = {**tenant.headers, "Content-Type": "application/octet-stream", "Accept": "*/*"}
    answer: httpx.Response = client.get(url, headers=headers)
    return answer


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (json.dumps(ZEPPELIN_NOTE).encode(), "zeppelin"),
        (json.dumps(JUPYTER_NOTEBOOK).encode(), "jupyter"),
        (b'{"empty": "model"}', "other"),
    ],
)
def test_upload_detects_the_payload_kind(
    client: TestClient, tenant_a: TenantClient, payload: bytes, kind: str
) -> None:
    model = create_model(client, tenant_a, payload, description="d")
    assert set(model) == {"id", "name", "description", "type", "author", "lastVersion"}
    assert model["name"] == "model"
    assert model["description"] == "d"
    assert model["type"] == "core.basicmodel"
    assert model["author"] == tenant_a.client_id
    version = model["lastVersion"]
    assert set(version) == {
        "id",
        "number",
        "expirationDate",
        "author",
        "creationDate",
        "dependencies",
        "io",
        "producedBy",
        "kpi",
        "payloadKind",
        "payloadWarnings",
    }
    assert version["payloadKind"] == kind
    assert version["number"] == 1
    assert TIMESTAMP.fullmatch(version["creationDate"])
    assert version["io"] == {
        "consumes": None,
        "input": [],
        "output": [],
        "optionalParameters": None,
    }
    again = client.get(f"{BASE}/models/{model['id']}", headers={**tenant_a.headers, **JSON_GET})
    assert again.json() == model


def test_official_client_bytes_with_full_metadata_round_trip(
    client: TestClient, tenant_a: TenantClient
) -> None:
    metadata = {
        "name": "NN - Quasi Newton",
        "description": "Newton using variable matrix methods",
        "type": "Zeppelin notebook",
        "author": "user@example.com",
        "lastVersion": {**FULL_VERSION, "author": "other@example.com", "number": 3.1},
    }
    payload = json.dumps(ZEPPELIN_NOTE).encode()
    answer = post_official(client, tenant_a, f"{BASE}/models", metadata, payload, "n.zpln")
    assert answer.status_code == 201, answer.text
    model = answer.json()
    assert model["author"] == "user@example.com"
    version = model["lastVersion"]
    for field, value in FULL_VERSION.items():
        assert version[field] == value, field
    assert version["author"] == "other@example.com"
    assert version["number"] == 1
    got = download(client, tenant_a, f"{BASE}/models/{model['id']}/versions/last")
    assert got.status_code == 200
    assert got.content == payload


def test_download_is_byte_identical_with_the_media_type(
    client: TestClient, tenant_a: TenantClient
) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 5)
    answer = client.post(
        f"{BASE}/models",
        files={
            "file": ("weights.bin", payload, "application/x-weights"),
            "metadata": (None, json.dumps({"name": "binary"}), "application/json"),
        },
        headers=tenant_a.headers,
    )
    assert answer.status_code == 201, answer.text
    model = answer.json()
    assert model["lastVersion"]["payloadKind"] == "other"
    version_url = f"{BASE}/models/{model['id']}/versions/{model['lastVersion']['id']}"
    for url in (version_url, f"{BASE}/models/{model['id']}/versions/last"):
        got = download(client, tenant_a, url)
        assert got.status_code == 200
        assert got.content == payload
        assert got.headers["content-type"] == "application/x-weights"
        assert got.headers["content-length"] == str(len(payload))
        assert 'filename="weights.bin"' in got.headers["content-disposition"]
    by_accept = client.get(
        version_url, headers={**tenant_a.headers, "Accept": "application/octet-stream"}
    )
    assert by_accept.content == payload
    as_json = client.get(version_url, headers={**tenant_a.headers, **JSON_GET})
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.json() == model["lastVersion"]


def test_upload_over_the_limit_is_413_and_stores_nothing(
    client: TestClient, tenant_a: TenantClient, settings: Settings
) -> None:
    settings.max_upload_bytes = 1000
    answer = post_official(client, tenant_a, f"{BASE}/models", {"name": "big"}, b"x" * 1001)
    assert_error(answer, 413)
    assert stored_blobs(settings) == []
    listed = client.get(f"{BASE}/models", headers=tenant_a.headers).json()
    assert listed["models"] == []
    model = create_model(client, tenant_a, b"y" * 1000)
    version = post_official(
        client, tenant_a, f"{BASE}/models/{model['id']}/versions", {}, b"z" * 1001
    )
    assert_error(version, 413)
    assert len(stored_blobs(settings)) == 1


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ("{not json", "metadata"),
        ('["a list"]', "metadata"),
        ("{}", "name"),
        ('{"name": "  "}', "name"),
        ('{"name": 5}', "name"),
        ('{"name": "m", "nmae": "typo"}', "nmae"),
        ('{"name": "m", "lastVersion": {"io": {"input": [{"type": "x"}]}}}', "input"),
        ('{"name": "m", "lastVersion": {"expirationDate": "soon"}}', "expirationDate"),
        ('{"name": "m", "lastVersion": {"kpi": "high"}}', "kpi"),
        # JSON has no NaN (Python's json writes it): the database could not keep it
        ('{"name": "m", "lastVersion": {"kpi": [{"name": "k", "value": NaN}]}}', "finite"),
        ('{"name": "m", "lastVersion": {"io": {"optionalParameters": [Infinity]}}}', "NaN"),
    ],
)
def test_bad_metadata_is_400_and_stores_nothing(
    client: TestClient, tenant_a: TenantClient, settings: Settings, metadata: str, says: str
) -> None:
    body = official_body(b"payload", "f.txt", "text/plain", metadata)
    headers = {**tenant_a.headers, "Content-Type": OFFICIAL_TYPE}
    answer = client.post(f"{BASE}/models", content=body, headers=headers)
    assert says in assert_error(answer, 400)["message"]
    assert stored_blobs(settings) == []


def test_missing_parts_are_400(
    client: TestClient, tenant_a: TenantClient, settings: Settings
) -> None:
    no_metadata = client.post(
        f"{BASE}/models", files={"file": ("f", b"data", "text/plain")}, headers=tenant_a.headers
    )
    assert "metadata" in assert_error(no_metadata, 400)["message"]
    no_file = client.post(
        f"{BASE}/models",
        files={"metadata": (None, '{"name": "m"}', "application/json")},
        headers=tenant_a.headers,
    )
    assert "'file'" in assert_error(no_file, 400)["message"]
    not_multipart = client.post(f"{BASE}/models", json={"name": "m"}, headers=tenant_a.headers)
    assert "Content-Type" in assert_error(not_multipart, 400)["message"]
    assert stored_blobs(settings) == []


def test_another_tenant_gets_404_everywhere(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    model = create_model(client, tenant_a)
    model_url = f"{BASE}/models/{model['id']}"
    version_url = f"{model_url}/versions/{model['lastVersion']['id']}"
    b = tenant_b.headers
    assert_error(client.get(model_url, headers=b), 404)
    assert_error(client.patch(model_url, json={"name": "mine"}, headers=b), 404)
    assert_error(client.get(f"{model_url}/versions", headers=b), 404)
    assert_error(client.get(version_url, headers=b), 404)
    assert_error(download(client, tenant_b, version_url), 404)
    assert_error(client.get(f"{model_url}/versions/last", headers=b), 404)
    assert_error(client.patch(f"{model_url}/versions/last", json={}, headers=b), 404)
    assert_error(post_official(client, tenant_b, f"{model_url}/versions", {}, b"x"), 404)
    assert_error(client.delete(version_url, headers=b), 404)
    assert_error(client.delete(model_url, headers=b), 404)
    assert client.get(f"{BASE}/models", headers=b).json()["models"] == []
    assert client.get(model_url, headers=tenant_a.headers).json() == model


def test_unknown_ids_are_404(client: TestClient, tenant_a: TenantClient) -> None:
    model = create_model(client, tenant_a)
    h = tenant_a.headers
    assert_error(client.get(f"{BASE}/models/nope", headers=h), 404)
    assert_error(client.get(f"{BASE}/models/nope/versions/last", headers=h), 404)
    assert_error(client.get(f"{BASE}/models/{model['id']}/versions/nope", headers=h), 404)
    assert_error(client.delete(f"{BASE}/models/{model['id']}/versions/nope", headers=h), 404)
    other = create_model(client, tenant_a, name="other")
    wrong_pair = f"{BASE}/models/{model['id']}/versions/{other['lastVersion']['id']}"
    assert_error(client.get(wrong_pair, headers=h), 404)


def test_paging_edge_cases(client: TestClient, tenant_a: TenantClient) -> None:
    h = tenant_a.headers
    empty = client.get(f"{BASE}/models", headers={**h, **JSON_GET}).json()
    assert empty == {
        "models": [],
        "page": {"number": 0, "size": 100, "totalPages": 0, "totalElements": 0},
    }
    for name in ("a", "b", "c"):
        create_model(client, tenant_a, name=name)
    first = client.get(f"{BASE}/models?pageNumber=0&pageSize=2", headers=h).json()
    assert [m["name"] for m in first["models"]] == ["a", "b"]
    assert first["page"] == {"number": 0, "size": 2, "totalPages": 2, "totalElements": 3}
    second = client.get(f"{BASE}/models?pageNumber=1&pageSize=2", headers=h).json()
    assert [m["name"] for m in second["models"]] == ["c"]
    beyond = client.get(f"{BASE}/models?pageNumber=7&pageSize=2", headers=h).json()
    assert beyond["models"] == []
    assert beyond["page"]["totalElements"] == 3
    for bad in ("pageSize=0", "pageSize=101", "pageNumber=-1", "pageNumber=x"):
        assert_error(client.get(f"{BASE}/models?{bad}", headers=h), 400)


def test_filter_by_author_and_optional_parameters_as_the_official_client_documents(
    client: TestClient, tenant_a: TenantClient
) -> None:
    def io(parameters: Any) -> dict[str, Any]:
        return {"io": {"optionalParameters": parameters}}

    create_model(client, tenant_a, name="model-a", author="alice", lastVersion=io({"entityId": 64}))
    create_model(
        client,
        tenant_a,
        name="model-b",
        description="modelDescription",
        lastVersion=io({"entityId": "64", "entityName": "pump"}),
    )
    create_model(client, tenant_a, name="model-c", lastVersion=io(["entityId"]))
    superseded = create_model(client, tenant_a, name="model-d", lastVersion=io({"entityId": "64"}))
    add_version(client, tenant_a, superseded["id"], b"{}", io={"optionalParameters": {"x": 1}})

    def names(flt: dict[str, Any]) -> list[str]:
        query = {"filter": json.dumps(flt)}
        answer = client.get(f"{BASE}/models", params=query, headers=tenant_a.headers)
        assert answer.status_code == 200, answer.text
        return [m["name"] for m in answer.json()["models"]]

    documented = {
        "name": "model*",
        "type": "core.basicmodel",
        "description": "modelDescription",
        "optionalParameters": {"entityId": "64", "entityName": "*"},
    }
    assert names(documented) == ["model-b"]
    assert names({"optionalParameters": {"entityId": "64"}}) == ["model-a", "model-b"]
    assert names({"optionalParameters": {"entityId": 64}}) == ["model-a", "model-b"]
    assert names({"optionalParameters": {"entityName": "P*"}}) == ["model-b"]
    assert names({"optionalParameters": {"x": "1"}}) == ["model-d"]
    assert names({"optionalParameters": {}}) == ["model-a", "model-b", "model-c", "model-d"]
    assert names({"author": "alice"}) == ["model-a"]
    assert names({"author": "ALI*"}) == ["model-a"]
    assert names({"author": "bob"}) == []
    for bad in (
        {"optionalParameters": "entityId"},
        {"optionalParameters": {"entity'Id": "1"}},
        {"optionalParameters": {"entityId": None}},
        {"optionalParameters": {"entityId": True}},
    ):
        query = {"filter": json.dumps(bad)}
        answer = client.get(f"{BASE}/models", params=query, headers=tenant_a.headers)
        assert "optionalParameters" in assert_error(answer, 400)["message"]


def test_filter_and_sort(client: TestClient, tenant_a: TenantClient) -> None:
    create_model(client, tenant_a, name="model-one", description="first")
    create_model(client, tenant_a, name="model-two", type="core.special")
    create_model(client, tenant_a, name="other_100%", description="third")
    h = tenant_a.headers

    def names(query: dict[str, str]) -> list[str]:
        answer = client.get(f"{BASE}/models", params=query, headers=h)
        assert answer.status_code == 200, answer.text
        return [m["name"] for m in answer.json()["models"]]

    assert names({}) == ["model-one", "model-two", "other_100%"]
    assert names({"sort": "desc"}) == ["other_100%", "model-two", "model-one"]
    assert names({"sort": "ASC"}) == ["model-one", "model-two", "other_100%"]
    assert names({"filter": '{"name": "model*"}'}) == ["model-one", "model-two"]
    assert names({"filter": '{"name": "MODEL-ONE"}'}) == ["model-one"]
    assert names({"filter": '{"name": "model"}'}) == []
    assert names({"filter": '{"name": "*_100%"}'}) == ["other_100%"]
    assert names({"filter": '{"name": "*_1"}'}) == []
    assert names({"filter": '{"type": "core.special"}'}) == ["model-two"]
    assert names({"filter": '{"name": "*", "description": "*ir*"}'}) == [
        "model-one",
        "other_100%",
    ]
    for bad in ("{", "[]", '{"creator": "x"}', '{"name": 1}', '{"author": null}'):
        message = assert_error(client.get(f"{BASE}/models", params={"filter": bad}, headers=h), 400)
        assert "filter" in message["message"]
    assert "sort" in assert_error(client.get(f"{BASE}/models?sort=up", headers=h), 400)["message"]


def test_versions_add_list_patch_and_delete(
    client: TestClient, tenant_a: TenantClient, settings: Settings
) -> None:
    model = create_model(client, tenant_a, json.dumps(JUPYTER_NOTEBOOK).encode())
    model_url = f"{BASE}/models/{model['id']}"
    h = tenant_a.headers
    second = add_version(client, tenant_a, model["id"], json.dumps(ZEPPELIN_NOTE).encode())
    third = add_version(client, tenant_a, model["id"], b"\x00binary", **FULL_VERSION)
    assert [second["number"], third["number"]] == [2, 3]
    assert [second["payloadKind"], third["payloadKind"]] == ["zeppelin", "other"]
    assert client.get(model_url, headers=h).json()["lastVersion"] == third
    assert client.get(f"{model_url}/versions/last", headers=h).json() == third

    listed = client.get(f"{model_url}/versions?pageSize=2", headers={**h, **JSON_GET}).json()
    assert [v["number"] for v in listed["versions"]] == [1, 2]
    assert listed["page"] == {"number": 0, "size": 2, "totalPages": 2, "totalElements": 3}

    patched = client.patch(
        f"{model_url}/versions/last",
        json={"kpi": [{"name": "accuracy", "value": 0.97}], "expirationDate": None},
        headers=h,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["kpi"] == [{"name": "accuracy", "value": 0.97}]
    assert patched.json()["expirationDate"] is None
    assert patched.json()["io"] == third["io"]
    assert download(client, tenant_a, f"{model_url}/versions/last").content == b"\x00binary"
    for bad in ({"io": None}, {"kpi": "x"}, {"nope": 1}):
        assert_error(client.patch(f"{model_url}/versions/last", json=bad, headers=h), 400)
    not_last = client.patch(f"{model_url}/versions/{second['id']}", json={}, headers=h)
    assert not_last.status_code == 405

    assert client.delete(f"{model_url}/versions/last", headers=h).status_code == 204
    assert client.get(f"{model_url}/versions/last", headers=h).json()["id"] == second["id"]
    assert client.delete(f"{model_url}/versions/{second['id']}", headers=h).status_code == 204
    assert_error(client.get(f"{model_url}/versions/{second['id']}", headers=h), 404)
    assert len(stored_blobs(settings)) == 1
    assert client.delete(f"{model_url}/versions/last", headers=h).status_code == 204
    assert_error(client.get(model_url, headers=h), 404)
    assert stored_blobs(settings) == []


def test_patch_model(client: TestClient, tenant_a: TenantClient) -> None:
    model = create_model(client, tenant_a)
    url = f"{BASE}/models/{model['id']}"
    h = tenant_a.headers
    answer = client.patch(url, json={"name": "renamed", "type": "t2"}, headers=h)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {**model, "name": "renamed", "type": "t2"}
    echoed = client.patch(url, json={**answer.json(), "description": "new"}, headers=h)
    assert echoed.json()["description"] == "new"
    for bad, says in (({"name": ""}, "name"), ({"name": None}, "name"), ({"color": 1}, "color")):
        assert says in assert_error(client.patch(url, json=bad, headers=h), 400)["message"]
    assert client.get(url, headers=h).json()["name"] == "renamed"


def test_delete_model_removes_every_version_and_blob(
    client: TestClient, tenant_a: TenantClient, settings: Settings
) -> None:
    model = create_model(client, tenant_a)
    add_version(client, tenant_a, model["id"], b"second")
    kept = create_model(client, tenant_a, name="kept")
    assert len(stored_blobs(settings)) == 3
    answer = client.delete(f"{BASE}/models/{model['id']}", headers=tenant_a.headers)
    assert answer.status_code == 204
    assert_error(client.get(f"{BASE}/models/{model['id']}", headers=tenant_a.headers), 404)
    assert len(stored_blobs(settings)) == 1
    assert client.get(f"{BASE}/models", headers=tenant_a.headers).json()["models"] == [kept]


def test_the_store_gives_the_jobs_layer_a_version(
    client: TestClient, tenant_a: TenantClient, services: Services
) -> None:
    payload = json.dumps(ZEPPELIN_NOTE).encode()
    model = create_model(client, tenant_a)
    second = add_version(client, tenant_a, model["id"], payload)
    tenant_id = services.store.tenants.get_by_name(tenant_a.name).id
    models = services.store.models
    last = models.get_version(tenant_id, model["id"], None)
    assert (last.id, last.payload_kind, last.payload_size) == (
        second["id"],
        "zeppelin",
        len(payload),
    )
    assert b"".join(services.store.blobs.read_chunks(last.payload_key)) == payload
    first = models.get_version(tenant_id, model["id"], model["lastVersion"]["id"])
    assert first.number == 1
    assert first.payload_kind == "other"
    other_tenant = services.store.tenants.create("tenant-c").id
    with pytest.raises(NotFound):
        models.get_version(other_tenant, model["id"], None)


def test_a_model_in_use_by_an_unfinished_job_is_not_deleted(services: Services) -> None:
    store = services.store
    tenant_id = store.tenants.create("tenant-a").id
    key = store.blobs.new_key()
    store.blobs.write(key, [b'{"empty": "model"}'])
    model = store.models.create(
        tenant_id, ModelSpec(name="m"), VersionSpec(definition={}), Payload(key=key, size=18)
    )
    assert model.last_version is not None
    job = Job(
        tenant_id=tenant_id,
        created_by="someone",
        model_id=model.id,
        model_version_id=model.last_version.id,
        configuration_id="c",
        input_folder_id="_PUBLIC_ROOT_ID",
        output_folder_id="_PUBLIC_ROOT_ID",
        max_execution_seconds=60,
        status=JobStatus.RUNNING.value,
    )
    with services.db.transaction() as session:
        session.add(job)
    with pytest.raises(Conflict, match=job.id):
        store.models.delete(tenant_id, model.id)
    with pytest.raises(Conflict, match=job.id):
        store.models.delete_version(tenant_id, model.id, None)
    assert store.blobs.exists(key)
    with services.db.transaction() as session:
        session.execute(update(Job).values(status=JobStatus.SUCCEEDED.value))
    store.models.delete(tenant_id, model.id)
    assert not store.blobs.exists(key)
    with pytest.raises(NotFound):
        store.models.get(tenant_id, model.id)
