"""Data Exchange through HTTP (SPEC §3) on SQLite and PostgreSQL, and the repository calls
the jobs layer uses (`put_file`, `list_tree`, `get_directory`)."""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from jobmanager.domain.errors import Conflict, InvalidInput, NotFound, TooLarge
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.dataexchange import DirectoryRecord
from jobmanager.store.tables import DataEntry
from tests.conftest import TenantClient, assert_error, basic

DX = "/api/dataexchange/v3"
PUBLIC = "_PUBLIC_ROOT_ID"
PRIVATE = "_PRIVATE_ROOT_ID"


# ---------------------------------------------------------------------- helpers


def mkdir(client: TestClient, tenant: TenantClient, name: str, parent: str = PUBLIC) -> str:
    answer = client.post(
        f"{DX}/directories", json={"name": name, "parentId": parent}, headers=tenant.headers
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def post_file(
    client: TestClient,
    tenant: TenantClient,
    name: str,
    content: bytes,
    parent: str = PUBLIC,
    type: Any = "text/plain",
) -> Response:
    metadata = json.dumps({"name": name, "parentId": parent, "type": type})
    answer: Response = client.post(
        f"{DX}/files",
        files={"file": (name, content, "application/octet-stream")},
        data={"metadata": metadata},
        headers=tenant.headers,
    )
    return answer


def upload(
    client: TestClient, tenant: TenantClient, name: str, content: bytes, parent: str = PUBLIC
) -> dict[str, Any]:
    answer = post_file(client, tenant, name, content, parent)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def listing(client: TestClient, tenant: TenantClient, folder: str, **params: Any) -> dict[str, Any]:
    answer = client.get(f"{DX}/directories/{folder}", params=params, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def names_in(client: TestClient, tenant: TenantClient, folder: str) -> list[str]:
    body = listing(client, tenant, folder)
    return [d["name"] for d in body["directories"]] + [f["name"] for f in body["files"]]


def blob_count(settings: Settings) -> int:
    root = Path(settings.resolved_blob_url)
    return sum(1 for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


def tenant_id(services: Services, name: str = "tenant-a") -> str:
    return services.store.tenants.get_by_name(name).id


# ---------------------------------------------------------------------- directories


def test_roots_exist_for_every_tenant(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    for root, name in ((PUBLIC, "public"), (PRIVATE, "private")):
        answer = client.get(f"{DX}/directories/{root}/properties", headers=tenant_a.headers)
        assert answer.status_code == 200
        assert answer.json()["id"] == root
        assert answer.json()["name"] == name
        empty = listing(client, tenant_a, root)
        assert (empty["files"], empty["directories"]) == ([], [])
        assert empty["page"] == {"number": 0, "size": 100, "totalPages": 0, "totalElements": 0}
    mkdir(client, tenant_a, "mine")
    assert names_in(client, tenant_b, PUBLIC) == []
    assert names_in(client, tenant_a, PRIVATE) == []


def test_create_directory_and_read_its_properties(
    client: TestClient, tenant_a: TenantClient
) -> None:
    answer = client.post(
        f"{DX}/directories",
        json={"name": "In put (1)", "parentId": PUBLIC},
        headers=tenant_a.headers,
    )
    assert answer.status_code == 201
    made = answer.json()
    assert set(made) >= {"id", "name", "parentId", "modifiedDate", "modifiedBy"}
    assert (made["name"], made["parentId"]) == ("In put (1)", PUBLIC)
    assert made["modifiedBy"] == tenant_a.client_id
    assert made["modifiedDate"].endswith("Z")
    props = client.get(f"{DX}/directories/{made['id']}/properties", headers=tenant_a.headers)
    assert props.json() == made
    inner = mkdir(client, tenant_a, "inner", made["id"])
    assert names_in(client, tenant_a, made["id"]) == ["inner"]
    assert (
        client.get(f"{DX}/directories/{inner}/properties", headers=tenant_a.headers).json()[
            "parentId"
        ]
        == made["id"]
    )


BAD_NAMES = ["", ".", "..", "a/b", "a\x00b", "a*b", "tab\there", "x" * 256, "é" * 128]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_directory_name_is_400_and_creates_nothing(
    client: TestClient, tenant_a: TenantClient, name: str
) -> None:
    answer = client.post(
        f"{DX}/directories", json={"name": name, "parentId": PUBLIC}, headers=tenant_a.headers
    )
    assert "name" in assert_error(answer, 400)["message"]
    assert names_in(client, tenant_a, PUBLIC) == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a"},
        {"parentId": PUBLIC},
        {"name": 1, "parentId": PUBLIC},
        {"name": "a", "parentId": None},
    ],
)
def test_bad_directory_body_is_400(
    client: TestClient, tenant_a: TenantClient, body: dict[str, Any]
) -> None:
    assert_error(client.post(f"{DX}/directories", json=body, headers=tenant_a.headers), 400)


def test_full_path_is_at_most_1024_bytes(client: TestClient, tenant_a: TenantClient) -> None:
    parent = PUBLIC
    for index in range(4):  # 4 * 250 + 3 separators = 1003 bytes
        parent = mkdir(client, tenant_a, f"{index}" + "d" * 249, parent)
    fits = "f" * (1024 - 1003 - 1)
    mkdir(client, tenant_a, fits, parent)
    answer = client.post(
        f"{DX}/directories", json={"name": fits + "x", "parentId": parent}, headers=tenant_a.headers
    )
    assert "1024" in assert_error(answer, 400)["message"]
    assert post_file(client, tenant_a, fits + "y", b"x", parent).status_code == 400


def test_unknown_or_file_or_foreign_parent_is_400(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    file_id = upload(client, tenant_a, "f.txt", b"x")["id"]
    foreign = mkdir(client, tenant_b, "theirs")
    for parent in ("nope", file_id, foreign):
        answer = client.post(
            f"{DX}/directories", json={"name": "a", "parentId": parent}, headers=tenant_a.headers
        )
        assert "parentId" in assert_error(answer, 400)["message"]
    assert names_in(client, tenant_b, foreign) == []


def test_sibling_names_are_unique_across_files_and_folders(
    client: TestClient, tenant_a: TenantClient
) -> None:
    mkdir(client, tenant_a, "same")
    again = client.post(
        f"{DX}/directories", json={"name": "same", "parentId": PUBLIC}, headers=tenant_a.headers
    )
    assert_error(again, 409)
    assert_error(post_file(client, tenant_a, "same", b"x"), 409)
    upload(client, tenant_a, "file.txt", b"x")
    assert_error(post_file(client, tenant_a, "file.txt", b"y"), 409)
    as_dir = client.post(
        f"{DX}/directories", json={"name": "file.txt", "parentId": PUBLIC}, headers=tenant_a.headers
    )
    assert_error(as_dir, 409)
    assert names_in(client, tenant_a, PUBLIC) == ["same", "file.txt"]
    mkdir(client, tenant_a, "same", PRIVATE)  # another folder: fine


def test_rename_and_move_directory(client: TestClient, tenant_a: TenantClient) -> None:
    a = mkdir(client, tenant_a, "a")
    b = mkdir(client, tenant_a, "b")
    url = f"{DX}/directories/{a}/properties"
    renamed = client.patch(url, json={"name": "a2"}, headers=tenant_a.headers)
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "a2"
    moved = client.patch(url, json={"parentId": b, "name": "a3"}, headers=tenant_a.headers)
    assert (moved.json()["parentId"], moved.json()["name"]) == (b, "a3")
    assert names_in(client, tenant_a, PUBLIC) == ["b"]
    assert names_in(client, tenant_a, b) == ["a3"]
    back = client.patch(url, json={"parentId": PRIVATE}, headers=tenant_a.headers)
    assert back.json()["parentId"] == PRIVATE


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"name": ".."}, 400),
        ({"name": "x/y"}, 400),
        ({"name": ""}, 400),
        ({"name": None}, 400),
        ({"name": "sibling"}, 409),
        ({"parentId": "SELF"}, 400),
        ({"parentId": "CHILD"}, 400),
        ({"parentId": "GRANDCHILD"}, 400),
        ({"parentId": "FILE"}, 400),
        ({"parentId": "nope"}, 400),
        ({"other": 1}, 400),
    ],
)
def test_bad_directory_change_changes_nothing(
    client: TestClient, tenant_a: TenantClient, change: dict[str, Any], status: int
) -> None:
    top = mkdir(client, tenant_a, "top")
    mkdir(client, tenant_a, "sibling")
    child = mkdir(client, tenant_a, "child", top)
    grandchild = mkdir(client, tenant_a, "grandchild", child)
    file_id = upload(client, tenant_a, "f.txt", b"x", child)["id"]
    ids = {"SELF": top, "CHILD": child, "GRANDCHILD": grandchild, "FILE": file_id}
    body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    url = f"{DX}/directories/{top}/properties"
    before = client.get(url, headers=tenant_a.headers).json()
    assert_error(client.patch(url, json=body, headers=tenant_a.headers), status)
    assert client.get(url, headers=tenant_a.headers).json() == before
    assert names_in(client, tenant_a, PUBLIC) == ["sibling", "top"]


def test_move_that_makes_a_path_too_long_is_400(client: TestClient, tenant_a: TenantClient) -> None:
    deep = mkdir(client, tenant_a, "a" * 250)
    deep = mkdir(client, tenant_a, "b" * 250, deep)
    deep = mkdir(client, tenant_a, "c" * 250, deep)  # 752 bytes
    moving = mkdir(client, tenant_a, "m" * 200)
    mkdir(client, tenant_a, "n" * 100, moving)  # m/n = 301 bytes: 752 + 1 + 301 > 1024
    url = f"{DX}/directories/{moving}/properties"
    assert_error(client.patch(url, json={"parentId": deep}, headers=tenant_a.headers), 400)
    assert client.get(url, headers=tenant_a.headers).json()["parentId"] == PUBLIC


def test_roots_cannot_be_changed_or_deleted(client: TestClient, tenant_a: TenantClient) -> None:
    for root in (PUBLIC, PRIVATE):
        url = f"{DX}/directories/{root}"
        assert_error(
            client.patch(f"{url}/properties", json={"name": "x"}, headers=tenant_a.headers), 400
        )
        assert_error(
            client.delete(url, params={"recursive": "true"}, headers=tenant_a.headers), 400
        )


def test_delete_directory_needs_recursive_when_not_empty(
    client: TestClient, settings: Settings, tenant_a: TenantClient
) -> None:
    top = mkdir(client, tenant_a, "top")
    inner = mkdir(client, tenant_a, "inner", top)
    upload(client, tenant_a, "a.txt", b"a", top)
    upload(client, tenant_a, "b.txt", b"b", inner)
    blobs = blob_count(settings)
    url = f"{DX}/directories/{top}"
    assert "recursive" in assert_error(client.delete(url, headers=tenant_a.headers), 409)["message"]
    assert_error(client.delete(url, params={"recursive": "false"}, headers=tenant_a.headers), 409)
    assert_error(client.delete(url, params={"recursive": "yes"}, headers=tenant_a.headers), 400)
    assert names_in(client, tenant_a, top) == ["inner", "a.txt"]
    assert blob_count(settings) == blobs
    empty = mkdir(client, tenant_a, "empty")
    assert client.delete(f"{DX}/directories/{empty}", headers=tenant_a.headers).status_code == 204
    gone = client.delete(url, params={"recursive": "true"}, headers=tenant_a.headers)
    assert gone.status_code == 204
    assert names_in(client, tenant_a, PUBLIC) == []
    assert_error(client.get(f"{DX}/directories/{inner}/properties", headers=tenant_a.headers), 404)
    assert blob_count(settings) == blobs - 2


def test_listing_pages_directories_then_files(client: TestClient, tenant_a: TenantClient) -> None:
    for name in ("d2", "d1"):
        mkdir(client, tenant_a, name)
    for name in ("f3.txt", "f1.csv", "f2.txt"):
        upload(client, tenant_a, name, b"x")
    seen: list[str] = []
    first = listing(client, tenant_a, PUBLIC, pageSize=2)
    assert first["page"] == {"number": 0, "size": 2, "totalPages": 3, "totalElements": 5}
    for number in range(4):  # pages 0..totalPages inclusive, as the official client asks
        page = listing(client, tenant_a, PUBLIC, pageSize=2, pageNumber=number)
        seen += [d["name"] for d in page["directories"]] + [f["name"] for f in page["files"]]
    assert seen == ["d1", "d2", "f1.csv", "f2.txt", "f3.txt"]


def test_listing_filter(client: TestClient, tenant_a: TenantClient) -> None:
    mkdir(client, tenant_a, "data")
    upload(client, tenant_a, "data.csv", b"x")
    upload(client, tenant_a, "notes.txt", b"x")
    by_name = listing(client, tenant_a, PUBLIC, filter=json.dumps({"name": {"contains": "data"}}))
    assert [d["name"] for d in by_name["directories"]] == ["data"]
    assert [f["name"] for f in by_name["files"]] == ["data.csv"]
    exact = listing(client, tenant_a, PUBLIC, filter=json.dumps({"name": "notes.txt"}))
    assert [f["name"] for f in exact["files"]] == ["notes.txt"]
    assert exact["page"]["totalElements"] == 1
    later = listing(
        client,
        tenant_a,
        PUBLIC,
        filter=json.dumps({"modifiedDate": {"after": "2000-01-01T00:00:00Z"}}),
    )
    assert later["page"]["totalElements"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "{not json"},
        {"filter": json.dumps({"size": 1})},
        {"filter": json.dumps({"name": {"gt": "a"}})},
        {"pageSize": "0"},
        {"pageNumber": "-1"},
    ],
)
def test_bad_listing_parameters_are_400(
    client: TestClient, tenant_a: TenantClient, params: dict[str, str]
) -> None:
    answer = client.get(f"{DX}/directories/{PUBLIC}", params=params, headers=tenant_a.headers)
    assert_error(answer, 400)


def test_listing_a_file_or_unknown_id_is_404(client: TestClient, tenant_a: TenantClient) -> None:
    file_id = upload(client, tenant_a, "f.txt", b"x")["id"]
    assert_error(client.get(f"{DX}/directories/{file_id}", headers=tenant_a.headers), 404)
    assert_error(client.get(f"{DX}/directories/nope", headers=tenant_a.headers), 404)
    assert_error(
        client.get(f"{DX}/directories/{file_id}/properties", headers=tenant_a.headers), 404
    )


# ---------------------------------------------------------------------- files


def test_upload_download_and_properties(client: TestClient, tenant_a: TenantClient) -> None:
    folder = mkdir(client, tenant_a, "in")
    content = bytes(range(256)) * 1000
    made = upload(client, tenant_a, "data.bin", content, folder)
    assert set(made) == {
        "id",
        "parentId",
        "name",
        "type",
        "sizeInBytes",
        "modifiedDate",
        "modifiedBy",
    }
    assert (made["name"], made["parentId"], made["sizeInBytes"]) == ("data.bin", folder, 256000)
    assert made["type"] == "text/plain"
    headers = {**tenant_a.headers, "Content-Type": "application/octet-stream", "Accept": "*/*"}
    download = client.get(f"{DX}/files/{made['id']}", headers=headers)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith("text/plain")
    assert "data.bin" in download.headers["content-disposition"]
    props = client.get(
        f"{DX}/files/{made['id']}/properties",
        headers={**tenant_a.headers, "Content-Type": "application/json"},
    )
    assert props.json() == made


def test_empty_file_and_unicode_name(client: TestClient, tenant_a: TenantClient) -> None:
    made = upload(client, tenant_a, "Grüße (1).txt", b"")
    assert made["sizeInBytes"] == 0
    assert made["name"] == "Grüße (1).txt"
    download = client.get(f"{DX}/files/{made['id']}", headers=tenant_a.headers)
    assert download.content == b""
    assert "UTF-8''Gr%C3%BC%C3%9Fe" in download.headers["content-disposition"]


def test_official_client_upload_body_with_type_false(
    client: TestClient, tenant_a: TenantClient
) -> None:
    """The body `mdsp data-exchange --mode upload` sends for a file of unknown type."""
    metadata = json.dumps({"name": "x.unknown", "parentId": PUBLIC, "type": False}, indent=2)
    body = (
        "\n----mindsphere\r\n"
        'Content-Disposition: form-data; name="file"; filename="x.unknown"\r\n'
        "Content-Type: application/octet-stream\r\n\r\nline 1\nline 2\r\n"
        "----mindsphere\r\n"
        'Content-Disposition: form-data; name="metadata"\r\n'
        "Content-Type: application/json\r\n\r\n"
        f"{metadata}\r\n\r\n----mindsphere--"
    ).encode()
    headers = {
        **tenant_a.headers,
        "Content-Type": "multipart/form-data; boundary=--mindsphere",
        "enctype": "multipart/form-data",
    }
    answer = client.post(f"{DX}/files", content=body, headers=headers)
    assert answer.status_code == 201, answer.text
    assert answer.json()["type"] == ""
    download = client.get(f"{DX}/files/{answer.json()['id']}", headers=tenant_a.headers)
    assert download.content == b"line 1\nline 2"


@pytest.mark.parametrize(
    ("metadata", "word"),
    [
        (None, "metadata"),
        ({"name": "a.txt"}, "parentId"),
        ({"name": "a.txt", "parentId": 5}, "parentId"),
        ({"name": "a.txt", "parentId": PUBLIC, "type": True}, "type"),
        ({"name": "a.txt", "parentId": PUBLIC, "type": 3}, "type"),
        ({"name": "../a.txt", "parentId": PUBLIC}, "name"),
        ({"name": "", "parentId": PUBLIC}, "name"),
        ({"name": "a.txt", "parentId": "nope"}, "parentId"),
        ("[1, 2]", "metadata"),
        ("{not json", "metadata"),
    ],
)
def test_bad_upload_is_400_and_leaves_no_blob(
    client: TestClient,
    settings: Settings,
    tenant_a: TenantClient,
    metadata: Any,
    word: str,
) -> None:
    data = {} if metadata is None else {"metadata": metadata}
    if isinstance(metadata, dict):
        data = {"metadata": json.dumps(metadata)}
    answer = client.post(
        f"{DX}/files",
        files={"file": ("a.txt", b"content", "text/plain")},
        data=data,
        headers=tenant_a.headers,
    )
    assert word in assert_error(answer, 400)["message"]
    assert names_in(client, tenant_a, PUBLIC) == []
    assert blob_count(settings) == 0


def test_upload_without_file_part_or_not_multipart_is_400(
    client: TestClient, tenant_a: TenantClient
) -> None:
    only_metadata = client.post(
        f"{DX}/files",
        files={"metadata": (None, json.dumps({"name": "a", "parentId": PUBLIC}))},
        headers=tenant_a.headers,
    )
    assert "file" in assert_error(only_metadata, 400)["message"]
    as_json = client.post(f"{DX}/files", json={"name": "a"}, headers=tenant_a.headers)
    assert_error(as_json, 400)


def test_duplicate_upload_is_409_and_leaves_no_blob(
    client: TestClient, settings: Settings, tenant_a: TenantClient
) -> None:
    upload(client, tenant_a, "a.txt", b"first")
    assert_error(post_file(client, tenant_a, "a.txt", b"second"), 409)
    assert blob_count(settings) == 1


def test_upload_over_the_limit_is_413(
    client: TestClient, settings: Settings, tenant_a: TenantClient
) -> None:
    settings.max_upload_bytes = 100
    assert_error(post_file(client, tenant_a, "big.bin", b"x" * 101), 413)
    assert names_in(client, tenant_a, PUBLIC) == []
    assert blob_count(settings) == 0
    upload(client, tenant_a, "fits.bin", b"x" * 100)


def test_put_replaces_the_content(
    client: TestClient, settings: Settings, tenant_a: TenantClient
) -> None:
    made = upload(client, tenant_a, "a.txt", b"old content")
    url = f"{DX}/files/{made['id']}"
    answer = client.put(
        url, files={"file": ("replacementFile", b"new", "some/content")}, headers=tenant_a.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["sizeInBytes"] == 3
    assert answer.json()["name"] == "a.txt"
    assert answer.json()["type"] == "text/plain"
    assert client.get(url, headers=tenant_a.headers).content == b"new"
    assert blob_count(settings) == 1


def test_put_to_unknown_or_foreign_file_is_404_and_leaves_no_blob(
    client: TestClient, settings: Settings, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    theirs = upload(client, tenant_b, "b.txt", b"theirs")
    for file_id in ("nope", theirs["id"]):
        answer = client.put(
            f"{DX}/files/{file_id}",
            files={"file": ("replacementFile", b"mine", "some/content")},
            headers=tenant_a.headers,
        )
        assert_error(answer, 404)
    assert blob_count(settings) == 1
    assert client.get(f"{DX}/files/{theirs['id']}", headers=tenant_b.headers).content == b"theirs"


def test_rename_and_move_file(client: TestClient, tenant_a: TenantClient) -> None:
    folder = mkdir(client, tenant_a, "folder")
    made = upload(client, tenant_a, "a.txt", b"abc")
    url = f"{DX}/files/{made['id']}/properties"
    renamed = client.patch(url, json={"name": "b.txt"}, headers=tenant_a.headers)
    assert renamed.json()["name"] == "b.txt"
    moved = client.patch(url, json={"parentId": folder}, headers=tenant_a.headers)
    assert moved.json()["parentId"] == folder
    assert names_in(client, tenant_a, folder) == ["b.txt"]
    assert client.get(f"{DX}/files/{made['id']}", headers=tenant_a.headers).content == b"abc"


def test_the_sdks_resource_patch_with_type_is_accepted(
    client: TestClient, tenant_a: TenantClient
) -> None:
    folder = mkdir(client, tenant_a, "folder")
    made = upload(client, tenant_a, "a.txt", b"abc")
    url = f"{DX}/files/{made['id']}/properties"
    patch = {"name": "b.csv", "type": "text/csv", "parentId": folder}
    changed = client.patch(url, json=patch, headers=tenant_a.headers)
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in patch} == patch
    unknown = client.patch(url, json={"name": "c.csv", "type": False}, headers=tenant_a.headers)
    assert unknown.json()["type"] == "text/csv"
    download = client.get(f"{DX}/files/{made['id']}", headers=tenant_a.headers)
    assert download.headers["content-type"].startswith("text/csv")
    folder_url = f"{DX}/directories/{folder}/properties"
    renamed = client.patch(
        folder_url, json={"name": "renamed", "type": "text/csv"}, headers=tenant_a.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "renamed" and "type" not in renamed.json()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"name": "taken.txt"}, 409),
        ({"type": True}, 400),
        ({"type": None}, 400),
        ({"type": "x/" + "y" * 300}, 400),
        ({"type": 7}, 400),
        ({"name": "a/b"}, 400),
        ({"name": ".."}, 400),
        ({"parentId": "FILE"}, 400),
        ({"parentId": "nope"}, 400),
        ({"parentId": None}, 400),
    ],
)
def test_bad_file_change_changes_nothing(
    client: TestClient, tenant_a: TenantClient, change: dict[str, Any], status: int
) -> None:
    made = upload(client, tenant_a, "a.txt", b"abc")
    other = upload(client, tenant_a, "taken.txt", b"x")
    body = {k: other["id"] if v == "FILE" else v for k, v in change.items()}
    url = f"{DX}/files/{made['id']}/properties"
    assert_error(client.patch(url, json=body, headers=tenant_a.headers), status)
    assert client.get(url, headers=tenant_a.headers).json() == made


def test_delete_file(client: TestClient, settings: Settings, tenant_a: TenantClient) -> None:
    made = upload(client, tenant_a, "a.txt", b"abc")
    url = f"{DX}/files/{made['id']}"
    assert client.delete(url, headers=tenant_a.headers).status_code == 204
    assert_error(client.get(url, headers=tenant_a.headers), 404)
    assert_error(client.get(f"{url}/properties", headers=tenant_a.headers), 404)
    assert_error(client.delete(url, headers=tenant_a.headers), 404)
    assert blob_count(settings) == 0


def test_a_directory_id_is_not_a_file(client: TestClient, tenant_a: TenantClient) -> None:
    folder = mkdir(client, tenant_a, "folder")
    assert_error(client.get(f"{DX}/files/{folder}", headers=tenant_a.headers), 404)
    assert_error(client.delete(f"{DX}/files/{folder}", headers=tenant_a.headers), 404)
    assert_error(client.get(f"{DX}/files/{PUBLIC}/properties", headers=tenant_a.headers), 404)


def test_other_tenant_gets_404_and_changes_nothing(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    folder = mkdir(client, tenant_a, "folder")
    made = upload(client, tenant_a, "a.txt", b"abc", folder)
    b = tenant_b.headers
    file_url, dir_url = f"{DX}/files/{made['id']}", f"{DX}/directories/{folder}"
    assert_error(client.get(file_url, headers=b), 404)
    assert_error(client.get(f"{file_url}/properties", headers=b), 404)
    assert_error(client.patch(f"{file_url}/properties", json={"name": "x"}, headers=b), 404)
    assert_error(client.delete(file_url, headers=b), 404)
    assert_error(client.get(dir_url, headers=b), 404)
    assert_error(client.get(f"{dir_url}/properties", headers=b), 404)
    assert_error(client.patch(f"{dir_url}/properties", json={"name": "x"}, headers=b), 404)
    assert_error(client.delete(dir_url, params={"recursive": "true"}, headers=b), 404)
    assert_error(post_file(client, tenant_b, "b.txt", b"x", folder), 400)
    assert names_in(client, tenant_a, folder) == ["a.txt"]
    assert client.get(file_url, headers=tenant_a.headers).content == b"abc"


def test_needs_authentication(client: TestClient) -> None:
    assert_error(client.get(f"{DX}/directories/{PUBLIC}"), 401)
    assert_error(client.post(f"{DX}/directories", json={"name": "a", "parentId": PUBLIC}), 401)


def test_session_cookie_needs_matching_xsrf_header(
    client: TestClient, tenant_a: TenantClient
) -> None:
    opened = client.post(
        "/session", headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)}
    )
    assert opened.status_code == 204
    xsrf = client.cookies["XSRF-TOKEN"]
    body = {"name": "a", "parentId": PUBLIC}
    assert_error(client.post(f"{DX}/directories", json=body), 403)
    assert_error(client.post(f"{DX}/directories", json=body, headers={"X-XSRF-TOKEN": "no"}), 403)
    assert names_in(client, tenant_a, PUBLIC) == []
    made = client.post(f"{DX}/directories", json=body, headers={"X-XSRF-TOKEN": xsrf})
    assert made.status_code == 201
    metadata = json.dumps({"name": "f.txt", "parentId": PUBLIC})
    files = {"file": ("f.txt", b"x", "text/plain")}
    no_header = client.post(f"{DX}/files", files=files, data={"metadata": metadata})
    assert_error(no_header, 403)
    with_header = client.post(
        f"{DX}/files", files=files, data={"metadata": metadata}, headers={"X-XSRF-TOKEN": xsrf}
    )
    assert with_header.status_code == 201
    assert client.get(f"{DX}/files/{with_header.json()['id']}").content == b"x"


# ---------------------------------------------------------------------- for the jobs layer


def test_put_file_makes_folders_and_replaces_atomically(
    services: Services, settings: Settings, tenant_a: TenantClient
) -> None:
    dx = services.store.dataexchange
    tid = tenant_id(services)
    out = dx.create_directory(tid, PUBLIC, "out")
    first = dx.put_file(tid, out.id, "plots/2024/fig.png", [b"ab", b"cd"])
    assert (first.name, first.size_in_bytes, first.type) == ("fig.png", 4, "image/png")
    again = dx.put_file(tid, out.id, "plots/2024/fig.png", iter([b"new"]), type="x/y")
    assert again.id == first.id
    assert (again.size_in_bytes, again.type) == (3, "x/y")
    assert b"".join(services.store.blobs.read_chunks(again.blob_key)) == b"new"
    assert not services.store.blobs.exists(first.blob_key)
    dx.put_file(tid, out.id, "top.txt", [b"t"])
    tree = dx.list_tree(tid, out.id)
    assert [path for path, _ in tree] == ["plots/2024/fig.png", "top.txt"]
    assert tree[0][1].id == first.id
    assert blob_count(settings) == 2


@pytest.mark.parametrize("path", ["", "a//b", "../a", "a/../b", "/abs", "a/b/", "a\x00b", "a*b"])
def test_put_file_refuses_bad_paths(
    services: Services, settings: Settings, tenant_a: TenantClient, path: str
) -> None:
    with pytest.raises(InvalidInput):
        services.store.dataexchange.put_file(tenant_id(services), PUBLIC, path, [b"x"])
    assert services.store.dataexchange.list_tree(tenant_id(services), PUBLIC) == []
    assert blob_count(settings) == 0


def test_put_file_conflicts_and_limits(
    services: Services, settings: Settings, tenant_a: TenantClient
) -> None:
    dx = services.store.dataexchange
    tid = tenant_id(services)
    dx.put_file(tid, PUBLIC, "a/file.txt", [b"x"])
    with pytest.raises(Conflict):
        dx.put_file(tid, PUBLIC, "a", [b"x"])  # a folder has that name
    with pytest.raises(Conflict):
        dx.put_file(tid, PUBLIC, "a/file.txt/inner.txt", [b"x"])  # a file is in the way
    with pytest.raises(TooLarge):
        dx.put_file(tid, PUBLIC, "big.bin", [b"x" * 10], limit=5)
    with pytest.raises(NotFound):
        dx.put_file(tid, "nope", "x.txt", [b"x"])
    with pytest.raises(NotFound):
        dx.put_file(tenant_id(services, "tenant-a"), "nope", "x.txt", [b"x"])
    assert [path for path, _ in dx.list_tree(tid, PUBLIC)] == ["a/file.txt"]
    assert blob_count(settings) == 1


def test_list_tree_and_get_directory(
    services: Services, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    dx = services.store.dataexchange
    tid, other = tenant_id(services), tenant_id(services, "tenant-b")
    folder = dx.create_directory(tid, PRIVATE, "in")
    dx.create_directory(tid, folder.id, "empty")
    dx.put_file(tid, folder.id, "b/c.txt", [b"c"])
    dx.put_file(tid, folder.id, "a.txt", [b"a"])
    assert [p for p, _ in dx.list_tree(tid, folder.id)] == ["a.txt", "b/c.txt"]
    assert [p for p, _ in dx.list_tree(tid, PRIVATE)] == ["in/a.txt", "in/b/c.txt"]
    assert dx.get_directory(tid, folder.id).name == "in"
    assert dx.get_directory(tid, PUBLIC).id == PUBLIC
    with pytest.raises(NotFound):
        dx.get_directory(other, folder.id)
    with pytest.raises(NotFound):
        dx.list_tree(other, folder.id)
    assert dx.list_tree(other, PRIVATE) == []


def test_concurrent_put_files_share_the_folders_they_make(
    services: Services, settings: Settings, tenant_a: TenantClient
) -> None:
    """Writers that make the same new folders at once: every file lands, in one folder each."""
    dx = services.store.dataexchange
    tid = tenant_id(services)
    paths = [f"run/{n % 2}/file{n}.txt" for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda path: dx.put_file(tid, PUBLIC, path, [path.encode()]), paths))
    tree = dx.list_tree(tid, PUBLIC)
    assert [path for path, _ in tree] == sorted(paths)
    for path, record in tree:
        assert b"".join(services.store.blobs.read_chunks(record.blob_key)) == path.encode()
    entries, _ = dx.list_directory(tid, PUBLIC, offset=0, limit=10)
    assert [d.name for d in entries if isinstance(d, DirectoryRecord)] == ["run"]
    assert blob_count(settings) == len(paths)


def test_concurrent_writes_into_a_folder_being_deleted_leave_no_orphans(
    services: Services, tenant_a: TenantClient
) -> None:
    """Each write either lands before the delete (and is deleted with the folder) or is
    refused: nothing is ever left inside a folder that no longer exists."""
    dx = services.store.dataexchange
    tid = tenant_id(services)
    for round_number in range(5):
        top = dx.create_directory(tid, PUBLIC, f"top{round_number}")
        inner = dx.put_file(tid, top.id, "a/b/seed.txt", [b"s"]).parent_id

        def write(index: int, folder: str = inner) -> None:
            with contextlib.suppress(NotFound, InvalidInput, Conflict):
                dx.put_file(tid, folder, f"w{index}.txt", [b"w"])

        with ThreadPoolExecutor(max_workers=6) as pool:
            writes = [pool.submit(write, i) for i in range(10)]
            deleting = pool.submit(dx.delete_directory, tid, top.id, recursive=True)
            for future in [*writes, deleting]:
                future.result()
        with services.db.reading() as session:
            parents = set(session.scalars(select(DataEntry.parent_id)))
            ids = set(session.scalars(select(DataEntry.id)))
        assert parents - ids <= {PUBLIC, PRIVATE}


def test_concurrent_crossed_moves_never_make_a_cycle(
    services: Services, tenant_a: TenantClient
) -> None:
    """A/c and B/d: moving A into d while B moves into c would make a cycle through
    folders neither move locks. At most one succeeds; every folder still reaches a root."""
    dx = services.store.dataexchange
    tid = tenant_id(services)
    for round_number in range(10):
        a = dx.create_directory(tid, PUBLIC, f"a{round_number}")
        b = dx.create_directory(tid, PUBLIC, f"b{round_number}")
        c = dx.create_directory(tid, a.id, "c")
        d = dx.create_directory(tid, b.id, "d")

        def move(folder: str, into: str) -> bool:
            try:
                dx.update_directory(tid, folder, parent_id=into)
            except (InvalidInput, Conflict):
                return False
            return True

        with ThreadPoolExecutor(max_workers=2) as pool:
            moved = list(pool.map(move, [a.id, b.id], [d.id, c.id]))
        assert moved.count(True) == 1
        for folder in (a.id, b.id, c.id, d.id):
            seen = set()
            current = folder
            while current not in (PUBLIC, PRIVATE):
                assert current not in seen, "a cycle"
                seen.add(current)
                current = dx.get_directory(tid, current).parent_id
