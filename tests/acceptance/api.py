"""An httpx caller of a real server process: the resources a job needs, and waiting."""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

import httpx

JOBS = "/api/jobmanager/v3/jobs"
DX = "/api/dataexchange/v3"
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def note(*texts: str) -> bytes:
    paragraphs = [
        {
            "text": t,
            "config": {},
            "settings": {"params": {}, "forms": {}},
            "id": f"p{n}",
            "status": "READY",
        }
        for n, t in enumerate(texts)
    ]
    document = {
        "paragraphs": paragraphs,
        "name": "n",
        "id": "2ACCEPT",
        "defaultInterpreterGroup": "python",
        "version": "0.11.2",
        "config": {},
        "info": {},
    }
    return json.dumps(document).encode()


def upload_csv(http: httpx.Client, folder: str, name: str) -> str:
    """Upload a small CSV file named `name` into `folder` through the API; its id."""
    metadata = json.dumps({"name": name, "parentId": folder})
    answer = http.post(
        f"{DX}/files",
        files={
            "file": (name, b"t,v\n1,2\n", "text/csv"),
            "metadata": (None, metadata, "application/json"),
        },
    )
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


class Caller:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        # A caller a test drops without closing still closes its connections as it goes,
        # not in some later test's garbage collection (an unclosed socket's warning).
        weakref.finalize(self, self.http.close)

    def close(self) -> None:
        self.http.close()

    def model(self, payload: bytes, name: str = "model") -> str:
        metadata = {"name": name, "type": "zeppelin", "lastVersion": {}}
        answer = self.http.post(
            "/api/modelmanagement/v3/models",
            files={
                "file": (f"{name}.zpln", payload, "application/json"),
                "metadata": (None, json.dumps(metadata), "application/json"),
            },
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def configuration(self, **fields: Any) -> str:
        answer = self.http.post("/api/prl/v3/configurations", json={"name": "c", **fields})
        answer.raise_for_status()
        return str(answer.json()["id"])

    def folder(self, name: str) -> str:
        answer = self.http.post(
            f"{DX}/directories", json={"name": name, "parentId": "_PUBLIC_ROOT_ID"}
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def upload(self, folder: str, name: str, data: bytes) -> str:
        """Put a file in a folder; return its id."""
        metadata = {"name": name, "parentId": folder, "type": "application/octet-stream"}
        answer = self.http.post(
            f"{DX}/files",
            files={
                "file": (name, data, "application/octet-stream"),
                "metadata": (None, json.dumps(metadata), "application/json"),
            },
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def files(self, folder: str) -> dict[str, bytes]:
        listing = self.http.get(f"{DX}/directories/{folder}").json()
        return {e["name"]: self.http.get(f"{DX}/files/{e['id']}").content for e in listing["files"]}

    def submit(self, model: str, configuration: str, output: str, **extra: Any) -> str:
        body = {
            "modelId": model,
            "configurationId": configuration,
            "inputFolderId": "_PUBLIC_ROOT_ID",
            "outputFolderId": output,
            "maximumExecutionTimeInSeconds": "600",
            **extra,
        }
        answer = self.http.post(JOBS, json=body)
        answer.raise_for_status()
        return str(answer.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self.http.get(f"{JOBS}/{job_id}").json())

    def wait(self, job_id: str, check: Any, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.job(job_id)
            if check(job):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} never got there: {job}")
