"""`jobmanager configs update` changes a configuration (limits, packages, retry policy);
`jobs submit` and `configs create` take a retry policy; `jobs list` and `jobs info` name the
model and the configuration beside their ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.acceptance.test_cli_jobs import FAILING_NOTE

server = module_server()


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    return Cli.for_server(tmp_path, server)


def test_update_changes_limits_packages_and_retry_and_keeps_the_rest(cli: Cli) -> None:
    cli("configs", "create", "tuned", "--cpus", "1.5", "--memory", "1024", "-e", "A=1").assert_ok()
    changed = cli(
        "configs", "update", "tuned", "--memory", "2048", "--max-processes", "64",
        "--package", "numpy>=1.20", "--max-environments", "3",
        "--retries", "2", "--retry-on", "failed", "--retry-wait", "1", "--json",
    ).assert_ok().json()  # fmt: skip
    assert changed["resources"]["cpus"] == 1.5  # not named: kept
    assert changed["resources"]["memoryMiB"] == 2048
    assert changed["resources"]["maxProcesses"] == 64
    assert changed["packages"] == ["numpy>=1.20"]
    assert changed["maxEnvironments"] == 3
    assert changed["environmentVariables"] == {"A": "1"}
    assert changed["retry"]["maxRetries"] == 2 and changed["retry"]["retryOn"] == ["failed"]
    assert changed["retry"]["backoff"]["initialSeconds"] == 1
    shown = cli("configs", "show", "tuned").assert_ok().stdout
    assert "max environments  3" in shown and "maxRetries" in shown
    plain = cli("configs", "update", "tuned", "--no-packages", "--retries", "0", "--json")
    after = plain.assert_ok().json()
    assert after["packages"] == [] and after["retry"]["maxRetries"] == 0
    assert after["resources"]["memoryMiB"] == 2048


def test_update_with_nothing_to_change_or_a_bad_value_is_one_line(cli: Cli) -> None:
    cli("configs", "create", "steady").assert_ok()
    cli("configs", "update", "steady").assert_one_line_error("nothing to change")
    cli("configs", "update", "steady", "--retry-on", "failed").assert_one_line_error(
        "need --retries"
    )
    cli(
        "configs", "update", "steady", "--retries", "1", "--retry-on", "often"
    ).assert_one_line_error("'often' is not one of environmentLost, failed, timedOut")
    cli("configs", "update", "steady", "--retries", "99").assert_one_line_error("HTTP 400")
    cli("configs", "update", "missing", "--memory", "512").assert_one_line_error("not found")


def test_create_help_shows_the_max_environments_default(cli: Cli) -> None:
    help_text = cli("configs", "create", "--help", COLUMNS="80").assert_ok().stdout
    flat = " ".join(help_text.split())
    assert "--max-environments" in flat and "[default: 1]" in flat


def test_a_submitted_retry_policy_runs_a_failed_job_again(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "failing.zpln").write_text(FAILING_NOTE)
    model = cli("models", "upload", "failing.zpln", "--json").assert_ok().json()["id"]
    cli("configs", "create", "named-env").assert_ok()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "numbers.txt").write_text("1\n")
    cli("data", "upload", "in", "public/retry-in").assert_ok()
    submitted = cli(
        "jobs", "submit", "-m", model, "-c", "named-env", "-i", "public/retry-in",
        "-o", "public/retry-out", "--retries", "1", "--retry-on", "failed",
        "--retry-wait", "0", "--watch",
    )  # fmt: skip
    assert submitted.code == 1, submitted.stdout + submitted.stderr
    job_id = submitted.stdout.strip().splitlines()[0].split()[-1]
    job = cli("jobs", "info", job_id, "--json").assert_ok().json()
    assert job["retry"]["maxRetries"] == 1
    assert [attempt["number"] for attempt in job["attempts"]] == [1, 2]
    info = cli("jobs", "info", job_id).assert_ok().stdout
    assert f"failing ({model})" in info
    configuration = job["configurationId"]
    assert f"named-env ({configuration})" in info
    listed = cli("jobs", "list", "--model", model).assert_ok().stdout
    row = next(line for line in listed.splitlines() if line.startswith(job_id))
    assert f"failing ({model})" in row and f"named-env ({configuration})" in row
