"""A real `jobmanager serve` process for acceptance tests: start, wait, kill, restart."""

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

from jobmanager.common.home import environments_folder
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def environment_processes(home: Path) -> list[psutil.Process]:
    """The sandboxes of the service of `home` still alive, with everything they started:
    a sandbox names the service's environments folder (`home.environments_folder`) in
    its command line; what runs inside it shows only neutral paths."""
    markers = (str(environments_folder(home)), str(home))
    found: dict[int, psutil.Process] = {}
    for process in psutil.process_iter():
        try:
            if process.name() == "bwrap" and any(m in " ".join(process.cmdline()) for m in markers):
                found.update((p.pid, p) for p in [process, *process.children(recursive=True)])
        except psutil.Error:
            continue
    return list(found.values())


def environment_folders(home: Path) -> set[Path]:
    """The environments' folders (beside them: the seccomp filter written at start)."""
    return {path for path in environments_folder(home).iterdir() if path.is_dir()}


class ServerProcess:
    def __init__(
        self,
        home: Path,
        extra_env: dict[str, str] | None = None,
        port: int | None = None,
        args: tuple[str, ...] = (),
        prefix: tuple[str, ...] = (),
    ):
        self.home = home
        self.args = args
        self.prefix = prefix  # a command the server runs under (e.g. `unshare ...`)
        self.port = port or free_port()
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home.parent / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        env = {
            **os.environ,
            "JOBMANAGER_HOME": str(self.home),
            "JOBMANAGER_PORT": str(self.port),
            **self.extra_env,
        }
        env.pop("HTTP_PROXY", None)
        env.pop("http_proxy", None)
        with self.log_path.open("ab") as log:  # the server writes its own copy of the handle
            self.process = subprocess.Popen(
                [*self.prefix, sys.executable, "-m", "jobmanager", "serve", *self.args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_healthy(timeout)
        except BaseException:  # a server that never became healthy is not left behind
            self.kill()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not healthy after {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def dev_credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.home / "dev-credentials.json").read_text()))

    def token(self) -> str:
        creds = self.dev_credentials()
        answer = httpx.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["clientId"], creds["clientSecret"]),
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


def make_tenant(database_url: str, home: Path) -> None:
    """A tenant `acme` in the database (migrated first), its credentials in `home` where
    `ServerProcess.token` reads them: what a cluster's operator makes before a start."""
    services = Services.open(Settings(home=home, database_url=database_url))
    try:
        services.store.tenants.create("acme")
        made = services.store.tenants.create_credentials("acme")
    finally:
        services.close()
    credentials = {"clientId": made.client_id, "clientSecret": made.client_secret}
    (home / "dev-credentials.json").write_text(json.dumps(credentials))
