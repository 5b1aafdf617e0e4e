"""The CLI's local service: one `jobmanager serve --local` per home, kept warm between commands.

A command with no server configured uses the local service of its home (`$JOBMANAGER_HOME`,
else the user's data folder: one per user, whatever the working folder): the one recorded
in the home (`local-service.json`; a `jobmanager serve` of the home run by hand records
itself there too) when its process lives and answers `/health`, else a new one, started
detached (its own session, logging to `local-service.log` in the home). The service writes
the record once it listens, removes it when it stops, and stops itself after
`JOBMANAGER_LOCAL_IDLE_MINUTES` without API requests and with no job left to finish (see
`cli/serve_local.py`). Looking and starting happen under a lock file in the home, so two
commands at once start one service, not two.

Client side only: this module imports nothing of the server, so commands start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from jobmanager.common.home import (
    HOME_VARIABLE,
    PRIVATE_FILE,
    dev_credentials_file,
    local_service_file,
    local_service_lock,
    local_service_log,
    make_private,
    write_private,
)

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 30.0
# Settings the CLI passes on to the local service: its own, and how this machine runs
# jobs. Every other JOBMANAGER_* variable of the shell (a database, a port, a dispatcher)
# is meant for other servers: the local service runs on the embedded default.
PASSED_ON = (
    "JOBMANAGER_LOCAL_IDLE_MINUTES",
    "JOBMANAGER_LOG_LEVEL",
    "JOBMANAGER_ISOLATION",
    "JOBMANAGER_BWRAP",
    "JOBMANAGER_SANDBOX_PATHS",
    "JOBMANAGER_JOB_SLOTS",
    "JOBMANAGER_WARM_ENVIRONMENTS",
)


class LocalServiceError(RuntimeError):
    """The local service could not be started or stopped; the message says where to look."""


@dataclass(frozen=True)
class LocalService:
    """A running local service, as its record in the home names it."""

    pid: int
    url: str
    credentials: str  # the dev tenant's credentials file

    def credentials_document(self) -> dict[str, str]:
        document = json.loads(Path(self.credentials).read_text())
        return {str(key): str(value) for key, value in document.items()}


def read_record(home: Path) -> LocalService | None:
    try:
        document = json.loads(local_service_file(home).read_text())
        return LocalService(int(document["pid"]), str(document["url"]), document["credentials"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(home: Path, service: LocalService) -> None:
    """Write the record atomically, readable by the user only (it names the credentials)."""
    write_private(local_service_file(home), asdict(service))


def remove_record(home: Path, pid: int) -> None:
    """Remove the record if it is still the one of process `pid`."""
    found = read_record(home)
    if found is not None and found.pid == pid:
        local_service_file(home).unlink(missing_ok=True)


def answers(url: str) -> bool:
    """True when a jobmanager server answers its health check at `url`."""
    try:
        return httpx.get(f"{url}/health", timeout=2.0, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def is_running(pid: int) -> bool:
    """True while process `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def is_local_service(pid: int) -> bool:
    """True when process `pid` is a `jobmanager serve --local` (not a reused pid)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    named = any(word.endswith(b"jobmanager") for word in words)
    return named and b"serve" in words and b"--local" in words


def find(home: Path) -> LocalService | None:
    """The local service of `home` when it runs and answers."""
    found = read_record(home)
    if found is not None and is_running(found.pid) and answers(found.url):
        return found
    return None


@contextlib.contextmanager
def locked(home: Path) -> Iterator[None]:
    make_private(home)
    descriptor = os.open(local_service_lock(home), os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def ensure(home: Path) -> tuple[LocalService, bool]:
    """The local service of `home`, started if none runs; True when it was started now."""
    with locked(home):
        found = read_record(home)
        if found is not None and is_running(found.pid) and answers(found.url):
            return found, False
        if found is not None:  # stale: a killed service, or one that no longer answers
            _end(found.pid)
            local_service_file(home).unlink(missing_ok=True)
        return _start(home), True


def stop(home: Path) -> LocalService | None:
    """Stop the local service of `home`; the one stopped, or None when none ran."""
    with locked(home):
        found = read_record(home)
        if found is None:
            return None
        if is_running(found.pid) and not is_local_service(found.pid):
            return None  # a `jobmanager serve` run by hand: it is stopped where it runs
        running = is_running(found.pid)
        if running:
            _end(found.pid)
        local_service_file(home).unlink(missing_ok=True)
        return found if running else None


def _end(pid: int) -> None:
    """SIGTERM (the service ends its jobs and stops), SIGKILL if it does not in time."""
    if not (is_running(pid) and is_local_service(pid)):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while is_running(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(home: Path) -> LocalService:
    port = _free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("JOBMANAGER_")}
    passed = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env = {
        **inherited,
        **passed,
        HOME_VARIABLE: str(home.resolve()),
        "JOBMANAGER_HOST": "127.0.0.1",
        "JOBMANAGER_PORT": str(port),
    }
    log_file = os.open(
        local_service_log(home), os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE
    )
    with os.fdopen(log_file, "ab") as log:  # the service holds its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "jobmanager", "serve", "--local"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=home,
        )
    return _wait_started(home, process)


def _ready(home: Path, service: LocalService) -> bool:
    return dev_credentials_file(home).exists() and answers(service.url)


def _wait_started(home: Path, process: subprocess.Popen[bytes]) -> LocalService:
    log = local_service_log(home)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalServiceError(
                f"the local service exited at start-up (code {process.returncode}); see {log}"
            )
        found = read_record(home)
        if found is not None and found.pid == process.pid and _ready(home, found):
            return found
        time.sleep(0.05)
    _end(process.pid)
    raise LocalServiceError(f"the local service did not start in time; see {log}")
