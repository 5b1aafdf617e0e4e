"""A cluster of real processes for acceptance tests and benchmarks: API replicas
(`jobmanager serve`, no job slots) and `jobmanager worker` processes, each with a home
of its own, sharing only a PostgreSQL, a Celery broker (Redis) and an S3 object store
(moto_server). Each worker may live on a host of its own (`HostNetwork`).

`Backends` holds the three shared services: private instances, listening on the
network's address, which drills may kill and restart.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.acceptance.api import DX, Caller, note
from tests.acceptance.netns import HostNetwork
from tests.acceptance.private_services import PrivatePostgres, PrivateRedis
from tests.acceptance.server import ServerProcess
from tests.s3 import MotoServer


@dataclass
class Backends:
    """PostgreSQL, the broker and the object store every process of the cluster shares."""

    postgres: PrivatePostgres
    redis: PrivateRedis
    moto: MotoServer
    bucket: str = ""

    @classmethod
    def start(cls, address: str, root: Path) -> Backends:
        """All three listening on `address`; none left behind if one fails to start."""
        backends = cls(
            PrivatePostgres(address), PrivateRedis(address), MotoServer(root / "moto.log", address)
        )
        try:
            backends.postgres.start()
            backends.redis.start()
            backends.moto.start()
            backends.bucket = backends.moto.new_bucket()
        except BaseException:
            backends.close()
            raise
        return backends

    def close(self) -> None:
        self.moto.stop()
        self.redis.close()
        self.postgres.close()

    def settings_env(self) -> dict[str, str]:
        return {
            "JOBMANAGER_DATABASE_URL": self.postgres.url,
            "JOBMANAGER_DISPATCH": "celery",
            "JOBMANAGER_BROKER_URL": self.redis.url,
            "JOBMANAGER_BLOB_URL": f"s3://{self.bucket}/jobmanager",
            **self.moto.settings_env(),
        }


@dataclass
class Cluster:
    """Replicas and workers started on demand; `close` stops all of them."""

    root: Path
    shared: dict[str, str]
    network: HostNetwork
    replicas: list[ServerProcess] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextmanager
    def running(
        cls, shared: dict[str, str], network: HostNetwork, show_logs: bool = True
    ) -> Iterator[Cluster]:
        """An empty cluster in a short folder of its own (kernel socket paths are limited
        to 107 bytes), with a tenant `acme` and signing keys made by the operator; the
        processes' logs are printed at the end (pytest shows them when a test failed)."""
        root = Path(tempfile.mkdtemp(prefix="jm-cl-"))
        cluster = cls(root, shared, network)
        try:
            cluster._make_tenant()
            yield cluster
        finally:
            cluster.close()
            if show_logs:
                cluster.print_logs()
            shutil.rmtree(root, ignore_errors=True)

    def _make_tenant(self) -> None:
        settings = Settings(
            home=self.root / "operator", database_url=self.shared["JOBMANAGER_DATABASE_URL"]
        )
        services = Services.open(settings)
        try:
            services.store.tenants.create("acme")
            made = services.store.tenants.create_credentials("acme")
        finally:
            services.close()
        self.credentials = {"clientId": made.client_id, "clientSecret": made.client_secret}

    def start_replica(self, prefix: tuple[str, ...] = (), **env: str) -> ServerProcess:
        """An API replica on loopback: no job slots, the operator's signing keys (run
        under the command `prefix`, if any)."""
        home = self.root / f"replica-{len(self.replicas) + 1}"
        shutil.copytree(self.root / "operator" / "keys", home / "keys")
        (home / "dev-credentials.json").write_text(json.dumps(self.credentials))
        settings = {**self.shared, "JOBMANAGER_JOB_SLOTS": "0", **env}
        replica = ServerProcess(home, extra_env=settings, prefix=prefix).start(timeout=90)
        self.replicas.append(replica)
        return replica

    def start_worker(self, name: str, slots: int = 1, **env: str) -> subprocess.Popen[bytes]:
        """`jobmanager worker` on host `name` (its own namespace where the network has them)."""
        if name not in self.network.hosts:
            self.network.add_host(name)
        home = self.root / name
        home.mkdir(exist_ok=True)
        argv = [sys.executable, "-m", "jobmanager", "worker", "--slots", str(slots)]
        with (self.root / f"{name}.log").open("ab") as log:
            worker = subprocess.Popen(
                self.network.command(name, argv),
                env={**os.environ, **self.shared, "JOBMANAGER_HOME": str(home), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.workers[name] = worker
        return worker

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker and its environments' processes, as a host that dies loses them."""
        worker = self.workers[name]
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        home = str(self.root / name)
        for process in psutil.process_iter():
            try:
                if process.cwd().startswith(home):
                    process.kill()
            except psutil.Error:
                continue

    def worker_log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def print_logs(self, lines: int = 60) -> None:
        for path in sorted(self.root.glob("*.log")):
            print(f"--- {path.name} (last {lines} lines)")
            print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))

    def caller(self, replica: ServerProcess) -> Caller:
        return Caller(replica.url, replica.token())

    def close(self) -> None:
        for worker in self.workers.values():
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait(10)
        for replica in self.replicas:
            replica.stop()


# Every run of this note leaves one file of its own in the job's output folder, holding
# the job's `token` parameter: a job run twice would leave two.
COUNTED_NOTE = note(
    "%python\nimport time, uuid\ntime.sleep(float(z.textbox('seconds', '0')))\n"
    "open(outputFolder + '/ran-' + uuid.uuid4().hex + '.txt', 'w').write(z.textbox('token'))"
)


def counted_job(
    caller: Caller,
    model: str,
    configuration: str,
    token: str,
    seconds: float,
    input_folder: str = "_PUBLIC_ROOT_ID",
) -> str:
    """A job of `COUNTED_NOTE` with an output folder of its own (named after the token).
    Its input is the public root unless named: there, the outputs of the jobs before it."""
    output = caller.folder(f"out-{token}")
    parameters = {"token": token, "seconds": str(seconds)}
    return caller.submit(
        model, configuration, output, parameters=parameters, inputFolderId=input_folder
    )


def runs_of(caller: Caller, job: dict[str, Any]) -> list[str]:
    """The tokens the runs of a job left in its output folder, attempts' folders included."""
    return _tokens(caller, str(job["outputFolderId"]))


def _tokens(caller: Caller, folder: str) -> list[str]:
    listing = caller.http.get(f"{DX}/directories/{folder}").json()
    found = [
        caller.http.get(f"{DX}/files/{entry['id']}").text
        for entry in listing["files"]
        if entry["name"].startswith("ran-")
    ]
    for child in listing.get("directories", []):
        found += _tokens(caller, str(child["id"]))
    return found
