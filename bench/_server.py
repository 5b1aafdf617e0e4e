"""A real `jobmanager serve` for benchmarks, and the resources a job names."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, home: Path, **env: str) -> None:
        self.home = home
        home.parent.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.credentials: dict[str, str] | None = None
        environment = {
            **os.environ,
            "JOBMANAGER_HOME": str(home),
            "JOBMANAGER_PORT": str(self.port),
            "JOBMANAGER_LOG_LEVEL": "WARNING",
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobmanager", "serve"],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=(home.parent / f"server-{self.port}.log").open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        self.psutil = psutil.Process(self.process.pid)

    def token(self) -> str:
        creds = self.credentials or json.loads((self.home / "dev-credentials.json").read_text())
        answer = httpx.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["clientId"], creds["clientSecret"]),
        )
        return str(answer.json()["access_token"])

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)

    def rss(self) -> int:
        return int(self.psutil.memory_info().rss)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def zeppelin_note(*texts: str) -> bytes:
    paragraphs = [
        {
            "text": text,
            "config": {},
            "settings": {"params": {}, "forms": {}},
            "id": f"p{n}",
            "status": "READY",
        }
        for n, text in enumerate(texts)
    ]
    note = {
        "paragraphs": paragraphs,
        "name": "bench",
        "id": "2BENCH",
        "defaultInterpreterGroup": "python",
        "version": "0.11.2",
        "config": {},
        "info": {},
    }
    return json.dumps(note).encode()


def job_body(http: httpx.Client, note: bytes, **configuration: Any) -> dict[str, Any]:
    """Upload a model, make a configuration and two folders; the body of a job using them."""
    metadata = {"name": "bench", "type": "zeppelin", "lastVersion": {}}
    model = http.post(
        "/api/modelmanagement/v3/models",
        files={
            "file": ("bench.zpln", note, "application/json"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    ).json()
    conf = http.post("/api/prl/v3/configurations", json={"name": "bench", **configuration}).json()
    folders = []
    for name in ("bench-in", "bench-out"):
        made = http.post(
            "/api/dataexchange/v3/directories",
            json={"name": f"{name}-{time.time_ns()}", "parentId": "_PUBLIC_ROOT_ID"},
        )
        folders.append(made.json()["id"])
    return {
        "modelId": model["id"],
        "configurationId": conf["id"],
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
        "maximumExecutionTimeInSeconds": "600",
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
