"""One home per user, private: with no `JOBMANAGER_HOME`, every command, from any folder, and
`make run` in a checkout reach the same home (the user's data folder) and the same
service; an older version's `./.jobmanager` is moved there or used where it is, saying
which; the home is readable by its user only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobmanager.cli import local_service
from tests.acceptance.cli_runner import Cli
from tests.acceptance.server import ServerProcess, free_port
from tests.integration.client.conftest import DOUBLE_NOTE
from tests.tmpfs import read_only

STARTED = "started a local jobmanager service"


@dataclass
class UserCli(Cli):
    """The CLI as a user runs it: no `JOBMANAGER_HOME`, the user's data folder under
    `data` (XDG_DATA_HOME, which platformdirs reads)."""

    data: Path = Path()

    def environment(self, extra_env: dict[str, str]) -> dict[str, str]:
        env = super().environment(extra_env)
        env.pop("JOBMANAGER_HOME")
        env["XDG_DATA_HOME"] = str(self.data)
        return env


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def user_home(data: Path) -> Path:
    return data / "jobmanager"


def older_home(folder: Path, configuration: str) -> Path:
    """`folder/.jobmanager` as an older version left it: a configuration in it, its local
    service stopped."""
    cli = Cli(folder)  # JOBMANAGER_HOME=folder/.jobmanager: where older versions put it
    cli("configs", "create", configuration).assert_ok()
    cli("serve", "--stop").assert_ok()
    return folder / ".jobmanager"


def names(cli: Cli) -> list[str]:
    return [c["name"] for c in cli("configs", "list", "--json").assert_ok().json()]


def test_commands_from_any_folder_reach_one_home_and_one_service(
    tmp_path: Path, data: Path
) -> None:
    first = UserCli(tmp_path / "project-a", data=data)
    second = UserCli(tmp_path / "project-b", data=data)
    made = first("configs", "create", "shared").assert_ok()
    assert STARTED in made.stderr and f"(home {user_home(data)})" in made.stderr
    listed = second("configs", "list", "--json").assert_ok()
    assert STARTED not in listed.stderr  # the same service, warm
    assert [c["name"] for c in listed.json()] == ["shared"]
    assert not (tmp_path / "project-a" / ".jobmanager").exists()
    assert not (tmp_path / "project-b" / ".jobmanager").exists()
    assert local_service.find(user_home(data)) is not None


@pytest.fixture
def make_run(tmp_path: Path, data: Path) -> Iterator[MakeRun]:
    started = MakeRun(tmp_path / "checkout", data)
    yield started
    started.stop()


@dataclass
class MakeRun:
    """`make run` in a checkout: `jobmanager serve` started there by hand, no home set."""

    checkout: Path
    data: Path
    server: ServerProcess | None = None

    def start(self) -> ServerProcess:
        self.checkout.mkdir(exist_ok=True)
        server = ServerProcess(user_home(self.data), port=free_port())
        server.log_path = self.checkout / "serve.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBMANAGER_")}
        env.update(XDG_DATA_HOME=str(self.data), JOBMANAGER_PORT=str(server.port))
        with server.log_path.open("ab") as log:
            server.process = subprocess.Popen(
                [sys.executable, "-m", "jobmanager", "serve"],
                cwd=self.checkout,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.server = server
        server._wait_healthy(60)
        return server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def test_make_run_in_a_checkout_and_the_cli_elsewhere_share_home_and_service(
    tmp_path: Path, data: Path, make_run: MakeRun
) -> None:
    legacy = older_home(make_run.checkout, "from-the-checkout")
    server = make_run.start()
    log = server.log()
    assert f"moved {legacy}, the home of an older jobmanager, to {user_home(data)}" in log
    assert not legacy.exists()
    elsewhere = UserCli(tmp_path / "project", data=data)
    listed = elsewhere("configs", "list", "--json").assert_ok()
    assert STARTED not in listed.stderr  # the service `make run` started
    assert [c["name"] for c in listed.json()] == ["from-the-checkout"]  # nothing lost
    status = elsewhere("serve", "--status").assert_ok()
    assert server.process is not None and f"pid {server.process.pid}" in status.stdout
    elsewhere("configs", "create", "from-the-project").assert_ok()
    in_checkout = UserCli(make_run.checkout, data=data)
    assert sorted(names(in_checkout)) == ["from-the-checkout", "from-the-project"]


def test_an_older_home_in_use_is_used_where_it_is_then_moved_once_free(
    tmp_path: Path, data: Path
) -> None:
    project = tmp_path / "project"
    older = Cli(project)  # an older version's command, its service running on ./.jobmanager
    older("configs", "create", "old").assert_ok()
    legacy = project / ".jobmanager"
    running = local_service.find(legacy)
    assert running is not None
    cli = UserCli(project, data=data)
    used = cli("configs", "list", "--json").assert_ok()
    assert f"using {legacy}, the home of an older jobmanager, where it is while" in used.stderr
    assert STARTED not in used.stderr and [c["name"] for c in used.json()] == ["old"]
    older("serve", "--stop").assert_ok()
    moved = cli("configs", "list", "--json").assert_ok()
    assert f"moved {legacy}, the home of an older jobmanager, to {user_home(data)}" in (
        moved.stderr
    )
    assert [c["name"] for c in moved.json()] == ["old"] and not legacy.exists()
    again = cli("configs", "list").assert_ok()
    assert "older jobmanager" not in again.stderr  # one line, once


def test_an_older_home_beside_a_used_default_home_is_used_where_it_is(
    tmp_path: Path, data: Path
) -> None:
    UserCli(tmp_path / "elsewhere", data=data)("configs", "create", "new").assert_ok()
    UserCli(tmp_path / "elsewhere", data=data)("serve", "--stop").assert_ok()
    legacy = older_home(tmp_path / "project", "old")
    cli = UserCli(tmp_path / "project", data=data)
    used = cli("configs", "list", "--json").assert_ok()
    assert f"using {legacy}, the home of an older jobmanager, where it is" in used.stderr
    assert f"the default home {user_home(data)} holds another" in used.stderr
    assert [c["name"] for c in used.json()] == ["old"] and legacy.is_dir()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_home_is_private_after_a_job_ran(tmp_path: Path, data: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "report.zpln").write_text(DOUBLE_NOTE)
    (project / "in").mkdir()
    (project / "in" / "numbers.txt").write_text("20\n")
    cli = UserCli(project, data=data)
    ran = cli("run", "report.zpln", "--input", "in", "--param", "factor=5")
    assert ran.code == 0, ran.stdout + ran.stderr
    home = user_home(data)
    assert mode(home) == 0o700
    files = [home / name for name in ("jobmanager.db", "jobmanager.db-wal", "local-service.log")]
    files += [home / "dev-credentials.json", *(home / "keys").iterdir()]
    blobs = [path for path in (home / "blobs").rglob("*") if path.is_file()]
    assert blobs, "the job's model, input and outputs are blobs"
    for path in files + blobs:
        assert mode(path) == 0o600, path
    for folder in [home / "blobs", *(p for p in (home / "blobs").rglob("*") if p.is_dir())]:
        assert mode(folder) == 0o700, folder


def test_an_older_homes_open_modes_are_closed_at_start(tmp_path: Path, data: Path) -> None:
    cli = UserCli(tmp_path / "project", data=data)
    cli("configs", "create", "x").assert_ok()
    cli("serve", "--stop").assert_ok()
    home = user_home(data)
    os.chmod(home, 0o755)  # as older versions left it
    for path in (home / "jobmanager.db", home / "keys" / "signing.pem"):
        os.chmod(path, 0o644)
    cli("configs", "list").assert_ok()
    assert mode(home) == 0o700
    assert mode(home / "jobmanager.db") == 0o600
    assert mode(home / "keys" / "signing.pem") == 0o600


def test_serve_starts_on_a_read_only_keys_folder_and_says_so(tmp_path: Path) -> None:
    """keys/ mounted read-only, its files 0440 (a Kubernetes Secret's): `serve` cannot
    make them private, says so, and serves, signing with them."""
    home = tmp_path / "home"
    ServerProcess(home).start(60).stop()
    keys = home / "keys"
    os.chmod(keys, 0o755)
    for path in keys.iterdir():
        os.chmod(path, 0o440)
    with read_only(keys):
        server = ServerProcess(home).start(60)
        try:
            assert server.token()
        finally:
            server.stop()
    log = server.log()
    assert f"{keys} cannot be made private (not this user's, or a read-only mount)" in log
    assert "Traceback" not in log
