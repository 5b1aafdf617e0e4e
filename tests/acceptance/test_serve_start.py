"""`jobmanager serve` starting and stopping cleanly: the port is bound before anything
starts, a port in use ends the start with one line, and no environment (bubblewrap
sandbox, kernel) outlives a start that failed."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.server import ServerProcess, environment_processes, free_port


def serve(home: Path, port: int, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`jobmanager serve` run to its end, as a user would from a terminal."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBMANAGER_")}
    environment.update(
        JOBMANAGER_HOME=str(home), JOBMANAGER_PORT=str(port), COLUMNS="80", NO_COLOR="1", **env
    )
    return subprocess.run(
        [sys.executable, "-m", "jobmanager", "serve", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The start failed with exit code 1 and one `error:` line, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return errors[0]


@pytest.fixture(scope="module")
def holder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Another jobmanager, holding its port."""
    server = ServerProcess(tmp_path_factory.mktemp("holder") / "home").start()
    yield server
    server.stop()


def test_a_port_another_jobmanager_holds_ends_the_start_at_once_three_times(
    holder: ServerProcess, tmp_path: Path
) -> None:
    home = tmp_path / "second"
    for _ in range(3):
        done = serve(home, holder.port)
        line = one_error_line(done)
        assert f"port {holder.port}" in line
        assert "another jobmanager" in line and str(holder.home) in line
        assert "--port" in line and "JOBMANAGER_PORT" in line
        assert "listening" not in done.stderr
        assert environment_processes(home) == []
    assert holder.process is not None and holder.process.poll() is None  # untouched


def test_a_port_another_program_holds_is_named_without_claiming_a_jobmanager(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(serve(tmp_path / "home", port))
    assert f"port {port} on 127.0.0.1 is in use by python" in line
    assert f"(pid {os.getpid()})" in line and "jobmanager" not in line.split(";")[0]


def test_the_example_on_a_taken_port_never_talks_to_the_other_service(
    holder: ServerProcess, tmp_path: Path
) -> None:
    done = serve(tmp_path / "home", holder.port, "--example")
    one_error_line(done)
    output = done.stdout + done.stderr
    assert "keeps running" not in output
    assert "secret" not in output and "refused" not in output and "example job" not in output


def test_a_database_that_cannot_be_used_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"postgresql+psycopg://user:hunter2@127.0.0.1:{free_port()}/nothing"
    line = one_error_line(serve(home, free_port(), JOBMANAGER_DATABASE_URL=url))
    assert "the database postgresql+psycopg://user:***@127.0.0.1" in line
    assert "hunter2" not in line and "JOBMANAGER_DATABASE_URL" in line
    assert environment_processes(home) == []


def test_a_database_of_a_newer_version_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    """A migration error: the database names a migration this version does not know."""
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "jobmanager.db") as database:
        database.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        database.execute("INSERT INTO alembic_version VALUES ('9999')")
    line = one_error_line(serve(home, free_port()))
    assert "cannot be used" in line and "9999" in line
    assert environment_processes(home) == []


def test_stopped_while_its_pool_fills_it_leaves_no_environment(tmp_path: Path) -> None:
    """Ctrl+C as the warm pool starts its environments: they all go with the service."""
    server = ServerProcess(tmp_path / "home", extra_env={"JOBMANAGER_WARM_ENVIRONMENTS": "4"})
    server.start()
    assert server.process is not None
    try:
        deadline = time.monotonic() + 30
        while not environment_processes(server.home) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert environment_processes(server.home), "the pool started no environment"
        os.kill(server.process.pid, signal.SIGINT)  # the service only: its sandboxes are its own
        server.process.wait(60)
        assert environment_processes(server.home) == []
    finally:
        server.stop()


def test_the_example_never_claims_the_service_keeps_running_after_it_stopped(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "home", args=("--example",)).start()
    assert server.process is not None
    deadline = time.monotonic() + 60
    while "submitted" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "submitted" in server.log(), server.log()
    os.kill(server.process.pid, signal.SIGTERM)
    server.process.wait(60)
    time.sleep(1)  # the example's thread had its chance to print
    assert "keeps running" not in server.log()
    assert environment_processes(server.home) == []
