"""Private PostgreSQL and Redis instances that a test may kill and restart.

The machine's own PostgreSQL, Redis and RabbitMQ serve every other test run in
parallel: drills never touch them. A `PrivatePostgres` is a cluster of its own
(`initdb` into a temporary folder, run as the `postgres` user, since PostgreSQL refuses
root, on a free port with its socket in that folder); a `PrivateRedis` is a
`redis-server` without persistence on a free port. Both listen on the address they are
given: loopback, or the host side of a test network (tests/acceptance/netns.py).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis
import sqlalchemy as sa

from tests.acceptance.server import free_port
from tests.conftest import require_service

HOW_TO_GET = "apt-get install postgresql redis-server (the tests start private instances)"


class ServiceUnavailable(RuntimeError):
    """A private instance could not be made or did not answer."""


def _wait(check: Callable[[], object], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            check()
            return
        except Exception as error:  # anything until it answers
            last = error
            time.sleep(0.2)
    raise ServiceUnavailable(f"{what} did not answer in {timeout:.0f} s: {last}")


class PrivatePostgres:
    """A PostgreSQL cluster of one test: `start`, `stop` (fast or immediate), `start` again."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.folder = Path(tempfile.mkdtemp(prefix="jm-pg-"))
        self.data = self.folder / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/jobmanager"

    def _pg(self, program: str, *args: str, timeout: float = 60) -> None:
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))
        if not found:
            raise ServiceUnavailable(f"no {program} under /usr/lib/postgresql/*/bin")
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", found[-1], *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise ServiceUnavailable(f"{program} {' '.join(args)}: {done.stderr[-1500:]}")

    def start(self, timeout: float = 60) -> PrivatePostgres:
        if not self.data.exists():
            shutil.chown(self.folder, "postgres")
            self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
            with (self.data / "pg_hba.conf").open("a") as rules:  # the test network's hosts
                rules.write(f"host all all {self.host}/24 trust\n")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses={self.host} "
            "-c fsync=off -c synchronous_commit=off -c max_connections=300"
        )
        log = str(self.folder / "postgres.log")
        self._pg("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        _wait(self._ensure_database, "the private PostgreSQL", timeout)
        return self

    def _ensure_database(self) -> None:
        admin = sa.create_engine(self.url.rsplit("/", 1)[0] + "/postgres")
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                exists = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = 'jobmanager'")
                )
                if not exists:
                    connection.execute(sa.text("CREATE DATABASE jobmanager"))
        finally:
            admin.dispose()

    def stop(self, mode: str = "fast") -> None:
        """`fast` as an operator's restart does; `immediate` as a crash would."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(ServiceUnavailable):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivateRedis:
    """A `redis-server` of one test, without persistence: a kill loses its queues."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="jm-redis-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 30) -> PrivateRedis:
        command = shutil.which("redis-server")
        if command is None:
            raise ServiceUnavailable("redis-server is not installed")
        args = ["--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        args += ["--protected-mode", "no"]  # reached from the test network, not loopback
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [command, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1)
        _wait(client.ping, "the private Redis", timeout)
        client.close()
        return self

    def kill(self) -> None:
        """SIGKILL: the broker vanishes with whatever it held."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def close(self) -> None:
        self.kill()
        self.log_path.unlink(missing_ok=True)


Service = TypeVar("Service", PrivatePostgres, PrivateRedis)


def started(service: Service) -> Service:
    """The service started; where it cannot start, the test fails on CI, skips elsewhere."""
    try:
        return service.start()
    except (ServiceUnavailable, OSError, subprocess.SubprocessError) as error:
        service.close()
        require_service(f"A private {type(service).__name__[7:]}", HOW_TO_GET, error)
        raise


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    service = started(PrivatePostgres())
    yield service
    service.close()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    service = started(PrivateRedis())
    yield service
    service.close()
