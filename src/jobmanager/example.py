"""The example job that `jobmanager serve --example` (and `make run`) submits and watches.

It goes through the public API like any caller: a token from the dev credentials, a
configuration, the model (a Zeppelin note), input data in a folder, a job; then it
follows the job to its end and lists what landed in the output folder.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
NOTE = "sensor_report.zpln"
DATA = "sensors.csv"
DX = "/api/dataexchange/v3"


class Example:
    def __init__(self, base_url: str, credentials: Path, console: Console) -> None:
        self.console = console
        secrets = json.loads(credentials.read_text())
        token = httpx.post(
            f"{base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(secrets["clientId"], secrets["clientSecret"]),
        ).json()["access_token"]
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def run(self) -> dict[str, Any]:
        configuration = self._configuration("example")
        model = self._upload_model()
        input_folder = self._folder("example-input")
        output_folder = self._folder("example-output")
        self._upload_file(input_folder, DATA, _asset(DATA))
        job = self._call(
            "POST",
            "/api/jobmanager/v3/jobs",
            json={
                "modelId": model["id"],
                "configurationId": configuration["id"],
                "inputFolderId": input_folder,
                "outputFolderId": output_folder,
                "maximumExecutionTimeInSeconds": "600",
                "parameters": {"threshold": "70"},
            },
        )
        self.console.print(f"[bold]example job[/bold] {job['id']} submitted: {job['status']}")
        job = self._follow(job["id"])
        self._show_outputs(output_folder)
        return job

    def _follow(self, job_id: str) -> dict[str, Any]:
        seen = ""
        while True:
            job = self._call("GET", f"/api/jobmanager/v3/jobs/{job_id}")
            progress = (job.get("progress") or {}).get("text", "")
            shown = job["message"] if job["status"] in FINAL else progress or job["message"]
            line = f"{job['status']:<10} {shown}"
            if line != seen:
                self.console.print(f"  {line}")
                seen = line
            if job["status"] in FINAL:
                colour = "green" if job["status"] == "SUCCEEDED" else "red"
                self.console.print(
                    f"[{colour}]example job {job['status']}[/{colour}]: {job['message']}"
                )
                return dict(job)
            time.sleep(0.2)

    def _show_outputs(self, folder_id: str) -> None:
        listing = self._call("GET", f"{DX}/directories/{folder_id}")
        for entry in listing["files"]:
            self.console.print(f"  output: {entry['name']} ({entry['sizeInBytes']} bytes)")

    def _configuration(self, name: str) -> dict[str, Any]:
        listing = self._call("GET", "/api/prl/v3/configurations")
        for configuration in listing["configurations"]:
            if configuration["name"] == name:
                return dict(configuration)
        made: dict[str, Any] = self._call("POST", "/api/prl/v3/configurations", json={"name": name})
        return made

    def _upload_model(self) -> dict[str, Any]:
        metadata = {
            "name": "sensor report",
            "description": "Example Zeppelin note",
            "type": "zeppelin",
            "lastVersion": {},
        }
        files = {
            "file": (NOTE, _asset(NOTE), "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        }
        model: dict[str, Any] = self._call("POST", "/api/modelmanagement/v3/models", files=files)
        return model

    def _folder(self, name: str) -> str:
        root = self._call("GET", f"{DX}/directories/_PUBLIC_ROOT_ID")
        for directory in root["directories"]:
            if directory["name"] == name:
                return str(directory["id"])
        made = self._call(
            "POST", f"{DX}/directories", json={"name": name, "parentId": "_PUBLIC_ROOT_ID"}
        )
        return str(made["id"])

    def _upload_file(self, folder_id: str, name: str, content: bytes) -> None:
        listing = self._call("GET", f"{DX}/directories/{folder_id}")
        if any(entry["name"] == name for entry in listing["files"]):
            return
        metadata = {"name": name, "parentId": folder_id, "type": "text/csv"}
        files = {
            "file": (name, content, "text/csv"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        }
        self._call("POST", f"{DX}/files", files=files)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None


def _asset(name: str) -> bytes:
    return resources.files("jobmanager.examples").joinpath(name).read_bytes()
