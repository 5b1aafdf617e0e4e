"""The CLI's local service: with no server configured, the first command starts a
`jobmanager serve --local` of the home, the next ones reuse it; it stops on
`serve --stop`, by itself when idle, and a killed one is replaced."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from jobmanager.cli import local_service
from tests.acceptance.cli_runner import Cli, Result

STARTED = "started a local jobmanager service"


def home_of(cli: Cli) -> Path:
    return cli.cwd / ".jobmanager"


def running_service(cli: Cli) -> local_service.LocalService:
    found = local_service.find(home_of(cli))
    assert found is not None, "no local service answers for the home"
    return found


def wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while local_service.is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_first_command_starts_it_the_next_reuse_it_and_stop_stops_it(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    first = cli("jobs", "list").assert_ok()
    assert STARTED in first.stderr
    service = running_service(cli)
    assert f"(pid {service.pid})" in first.stderr
    second = cli("configs", "list", "--json").assert_ok()
    assert STARTED not in second.stderr
    assert second.json() == []
    assert running_service(cli).pid == service.pid
    status = cli("serve", "--status").assert_ok()
    assert f"pid {service.pid}" in status.stdout and service.url in status.stdout
    stopped = cli("serve", "--stop").assert_ok()
    assert f"pid {service.pid}" in stopped.stdout
    assert not local_service.is_running(service.pid)
    assert not (home_of(cli) / "local-service.json").exists()
    assert cli("serve", "--status").code == 3
    assert "no local service" in cli("serve", "--stop").assert_ok().stdout


def test_an_idle_service_stops_itself(tmp_path: Path) -> None:
    cli = Cli(tmp_path, {"JOBMANAGER_LOCAL_IDLE_MINUTES": "0.05"})  # 3 s
    cli("jobs", "list").assert_ok()
    service = running_service(cli)
    assert wait_gone(service.pid, 60), "the idle service did not stop"
    assert not (home_of(cli) / "local-service.json").exists()
    assert "idle for 3 s" in (home_of(cli) / "local-service.log").read_text()
    again = cli("jobs", "list").assert_ok()
    assert STARTED in again.stderr


def test_a_killed_service_is_replaced(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli("jobs", "list").assert_ok()
    killed = running_service(cli)
    os.kill(killed.pid, signal.SIGKILL)
    assert wait_gone(killed.pid, 10)
    assert (home_of(cli) / "local-service.json").exists()  # the stale record stays
    result = cli("jobs", "list").assert_ok()
    assert STARTED in result.stderr
    assert running_service(cli).pid != killed.pid


def test_two_commands_at_once_start_one_service(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    commands = [cli.start("jobs", "list") for _ in range(2)]
    results = []
    for command in commands:
        out, err = command.communicate(timeout=120)
        results.append(Result(command.returncode, out, err))
    for result in results:
        result.assert_ok()
    assert sum(STARTED in result.stderr for result in results) == 1
    pids = [
        line.split("(pid ")[1].split(")")[0]
        for result in results
        for line in result.stderr.splitlines()
        if STARTED in line
    ]
    assert pids == [str(running_service(cli).pid)]


def tokens_issued(service: local_service.LocalService) -> float:
    """How many tokens the service has issued, from its own metrics."""
    text = httpx.get(f"{service.url}/metrics", trust_env=False).text
    counts = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("jobmanager_http_requests_total{")
        and 'route="/oauth/token"' in line
        and 'status="200"' in line
    ]
    return sum(counts)


def test_the_next_command_reuses_the_token_and_a_refused_one_is_replaced(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli("jobs", "list").assert_ok()
    service = running_service(cli)
    kept = home_of(cli) / "local-service-token.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    first = json.loads(kept.read_text())
    assert tokens_issued(service) == 1
    cli("configs", "list").assert_ok()
    cli("jobs", "list").assert_ok()
    assert tokens_issued(service) == 1, "a command asked for a token while one was kept"
    assert json.loads(kept.read_text()) == first
    kept.write_text(json.dumps({**first, "accessToken": "not-a-token"}))
    cli("jobs", "list").assert_ok()  # refused once, then a new token
    assert tokens_issued(service) == 2
    renewed = json.loads(kept.read_text())
    assert renewed["accessToken"] not in (first["accessToken"], "not-a-token")
