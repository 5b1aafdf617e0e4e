"""Making what a job needs through the HTTP API, as a caller would."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TenantClient

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"
JOBS = "/api/jobmanager/v3/jobs"
DX = "/api/dataexchange/v3"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def zeppelin_note(*paragraphs: str, default: str = "python") -> bytes:
    """A minimal Zeppelin 0.11 note with these paragraph texts."""
    note = {
        "paragraphs": [
            {
                "text": text,
                "config": {"enabled": True},
                "settings": {"params": {}, "forms": {}},
                "id": f"paragraph_{n}",
                "status": "READY",
            }
            for n, text in enumerate(paragraphs)
        ],
        "name": "test note",
        "id": "2TESTNOTE",
        "defaultInterpreterGroup": default,
        "version": "0.11.2",
        "config": {},
        "info": {},
    }
    return json.dumps(note, indent=2).encode()


def upload_model(client: TestClient, tenant: TenantClient, payload: bytes, name: str = "m") -> str:
    metadata = {"name": name, "description": "", "type": "zeppelin", "lastVersion": {}}
    answer = client.post(
        "/api/modelmanagement/v3/models",
        headers=tenant.headers,
        files={
            "file": ("note.zpln", payload, "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def create_configuration(client: TestClient, tenant: TenantClient, **fields: Any) -> str:
    body = {"name": "conf", **fields}
    answer = client.post("/api/prl/v3/configurations", headers=tenant.headers, json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def make_folder(client: TestClient, tenant: TenantClient, name: str) -> str:
    answer = client.post(
        f"{DX}/directories",
        headers=tenant.headers,
        json={"name": name, "parentId": "_PUBLIC_ROOT_ID"},
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def runnable_references(client: TestClient, tenant: TenantClient) -> dict[str, str]:
    """What a job or schedule body names: a trivial note, a configuration, an input
    and an output folder, all of `tenant`."""
    return {
        "modelId": upload_model(client, tenant, zeppelin_note("%python\nprint(1)")),
        "configurationId": create_configuration(client, tenant),
        "inputFolderId": make_folder(client, tenant, "in"),
        "outputFolderId": make_folder(client, tenant, "out"),
    }


def upload_file(
    client: TestClient, tenant: TenantClient, folder: str, name: str, data: bytes
) -> str:
    metadata = {"name": name, "parentId": folder, "type": "application/octet-stream"}
    answer = client.post(
        f"{DX}/files",
        headers=tenant.headers,
        files={
            "file": (name, data, "application/octet-stream"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def folder_files(client: TestClient, tenant: TenantClient, folder: str) -> dict[str, bytes]:
    listing = client.get(f"{DX}/directories/{folder}", headers=tenant.headers).json()
    return {
        entry["name"]: client.get(f"{DX}/files/{entry['id']}", headers=tenant.headers).content
        for entry in listing["files"]
    }


def wait_for(
    client: TestClient, tenant: TenantClient, job_id: str, statuses: set[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"{JOBS}/{job_id}", headers=tenant.headers).json()
        if job["status"] in statuses:
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not in {statuses} after {timeout}s: {job}")
