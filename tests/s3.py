"""A real S3 server for tests and benchmarks: moto's `moto_server`, run as its own process
on a free port (never the in-process threaded server: the service talks to it over HTTP
exactly as to MinIO or AWS)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import s3fs

from jobmanager.store.blobs import ObjectStoreAccess
from jobmanager.store.fsspec_blobs import s3_options
from tests.acceptance.server import free_port

REGION = "eu-central-1"
INSTALL = "pip install 'moto[server]' (it is in the dev extra: pip install -e '.[dev]')"


class MotoUnavailable(RuntimeError):
    """`moto_server` is not installed or did not answer."""


class MotoServer:
    def __init__(self, log_path: Path, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        command = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        command = command or shutil.which("moto_server")
        if command is None:
            raise MotoUnavailable("the moto_server command is not installed")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [command, "-H", self.host, "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_answering(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise MotoUnavailable(f"moto_server exited: {self.log_path.read_text()[-2000:]}")
            try:
                httpx.get(self.endpoint, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise MotoUnavailable(f"moto_server did not answer on {self.endpoint} in {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def access(self) -> ObjectStoreAccess:
        return ObjectStoreAccess(
            endpoint_url=self.endpoint,
            region=REGION,
            access_key_id="testing",
            secret_access_key="testing",
        )

    def settings_env(self) -> dict[str, str]:
        """The service's settings that point it at this server (the bucket comes in the URL)."""
        return {
            "JOBMANAGER_BLOB_ENDPOINT_URL": self.endpoint,
            "JOBMANAGER_BLOB_REGION": REGION,
            "JOBMANAGER_BLOB_ACCESS_KEY_ID": "testing",
            "JOBMANAGER_BLOB_SECRET_ACCESS_KEY": "testing",
        }

    def filesystem(self) -> s3fs.S3FileSystem:
        return s3fs.S3FileSystem(**s3_options(self.access()))

    def new_bucket(self) -> str:
        name = f"jm-{uuid.uuid4().hex[:16]}"
        self.filesystem().mkdir(name)
        return name
