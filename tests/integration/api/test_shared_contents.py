"""Uploads through Data Exchange share their blobs by content: the same bytes uploaded
twice (or put again) are stored once, and stay until the last file holding them goes."""

from __future__ import annotations

from fastapi.testclient import TestClient

from jobmanager.startup.services import Services
from tests.conftest import TenantClient
from tests.integration.jobs.api import DX, make_folder, upload_file
from tests.integration.store.contents import assert_consistent, stored_keys


def test_the_same_bytes_uploaded_twice_are_stored_once(
    client: TestClient, services: Services, tenant_a: TenantClient, tenant_b: TenantClient
) -> None:
    blobs = services.store.blobs
    folder = make_folder(client, tenant_a, "uploads")
    data = b"0123456789" * 100_000
    first = upload_file(client, tenant_a, folder, "a.bin", data)
    second = upload_file(client, tenant_a, folder, "b.bin", data)
    assert len(stored_keys(blobs)) == 1
    upload_file(client, tenant_b, make_folder(client, tenant_b, "theirs"), "a.bin", data)
    assert len(stored_keys(blobs)) == 2  # another tenant's bytes are its own

    replaced = client.put(
        f"{DX}/files/{second}",
        headers=tenant_a.headers,
        files={"file": ("b.bin", data, "application/octet-stream")},
    )
    assert replaced.status_code == 200, replaced.text
    assert len(stored_keys(blobs)) == 2
    assert client.delete(f"{DX}/files/{first}", headers=tenant_a.headers).status_code == 204
    assert client.get(f"{DX}/files/{second}", headers=tenant_a.headers).content == data
    assert client.delete(f"{DX}/files/{second}", headers=tenant_a.headers).status_code == 204
    assert len(stored_keys(blobs)) == 1
    assert_consistent(services.db, blobs)
