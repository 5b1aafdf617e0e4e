"""`jobmanager jobs` against a real server: submit --watch and its exit codes, stop,
list with filters, outputs."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from jobmanager.client import Client
from tests.acceptance.cli_runner import Cli, Result, module_server
from tests.acceptance.server import ServerProcess
from tests.integration.client.conftest import DOUBLE_NOTE, zeppelin_note

server = module_server()

FAILING_NOTE = zeppelin_note(
    "%python\nprint('first')",
    "%python\nraise RuntimeError('boom')",
    "%python\nprint('after')",
)
SLOW_NOTE = zeppelin_note(
    "%python\nimport pathlib\npathlib.Path(outputFolder, 'early.txt').write_text('kept')",
    "%python\nimport time\nfor _ in range(1200):\n    time.sleep(0.1)",
)


@pytest.fixture(scope="module")
def setup(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Models, a configuration and an input folder, made once through the CLI."""
    folder = tmp_path_factory.mktemp("cli-jobs")
    cli = Cli.for_server(folder, server)
    ids = {}
    for name, text in (("double", DOUBLE_NOTE), ("failing", FAILING_NOTE), ("slow", SLOW_NOTE)):
        (folder / f"{name}.zpln").write_text(text)
        ids[name] = cli("models", "upload", f"{name}.zpln", "--json").assert_ok().json()["id"]
    cli("configs", "create", "jobs-env", "--max-environments", "4").assert_ok()
    (folder / "in").mkdir()
    (folder / "in" / "numbers.txt").write_text("21\n")
    cli("data", "upload", "in", "public/in").assert_ok()
    return ids


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    return Cli.for_server(tmp_path, server)


def submit(cli: Cli, model_id: str, output: str, *extra: str) -> Result:
    return cli(
        "jobs", "submit", "-m", model_id, "-c", "jobs-env", "-i", "public/in", "-o", output, *extra
    )


def test_submit_watch_succeeds_with_progress_and_outputs(
    cli: Cli, setup: dict[str, str], tmp_path: Path
) -> None:
    result = submit(
        cli, setup["double"], "public/out/ok", "--watch", "-P", "factor=3", "--timeout", "300"
    )
    assert result.code == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "SUCCEEDED" in lines[-1]
    assert any("paragraph 2/2" in line for line in lines), result.stdout
    assert any("of 5:00" in line for line in lines), result.stdout
    job_id = lines[0].split()[-1]
    shown = cli("jobs", "show", job_id, "--json").assert_ok().json()
    assert shown["status"] == "SUCCEEDED"
    assert shown["parameters"] == {"factor": 3}  # -P types values as papermill -p does
    listing = cli("jobs", "outputs", job_id, "--json").assert_ok().json()
    assert "result.txt" in [item["path"] for item in listing]
    cli("jobs", "outputs", job_id, "--download", str(tmp_path / "got")).assert_ok()
    assert (tmp_path / "got" / "result.txt").read_text() == "63"


def test_watching_ends_when_the_job_does_not_at_the_next_poll(
    cli: Cli, setup: dict[str, str]
) -> None:
    """The job's event stream wakes the watch: with polls 10 minutes apart, the command
    still ends with the job (the call would time out after 2 minutes otherwise)."""
    result = cli(
        "jobs", "submit", "-m", setup["double"], "-c", "jobs-env", "-i", "public/in",
        "-o", "public/out/woken", "--watch", "--interval", "600", timeout=120,
    )  # fmt: skip
    assert result.code == 0, result.stdout + result.stderr
    assert "SUCCEEDED" in result.stdout.strip().splitlines()[-1]


def test_failed_job_exits_1_with_its_message(cli: Cli, setup: dict[str, str]) -> None:
    result = submit(cli, "failing", "public/out/failed", "--watch")  # a model by its name
    assert result.code == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout.strip().splitlines()[-1]
    # The live output: the model's stdout on stdout, its error on stderr, in order.
    lines = result.stdout.splitlines()
    assert lines.index("first") < lines.index("after") < len(lines) - 1
    assert "RuntimeError: boom" in result.stderr
    assert "Traceback (most recent call last):\n  File" not in result.stderr  # none of the CLI
    quiet = submit(cli, setup["failing"], "public/out/failed", "--watch", "--json")
    assert quiet.code == 1
    assert quiet.json()["status"] == "FAILED"
    failed = cli("jobs", "list", "--status", "failed", "--json").assert_ok().json()
    assert [job["modelId"] for job in failed] == [setup["failing"]] * 2
    assert cli("jobs", "list", "--status", "STOPPED", "--json").assert_ok().json() == []


def test_stopped_job_exits_2_and_keeps_early_outputs(
    cli: Cli, setup: dict[str, str], server: ServerProcess
) -> None:
    job = submit(cli, setup["slow"], "public/out/stopped", "--json").assert_ok().json()
    credentials = server.dev_credentials()
    with Client(server.url, credentials["clientId"], credentials["clientSecret"]) as api:
        deadline = time.monotonic() + 60
        while api.get_job(job["id"]).status != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.2)
    stopped = cli("jobs", "stop", job["id"]).assert_ok().stdout
    assert "STOPPING" in stopped or "STOPPED" in stopped
    result = cli("jobs", "watch", job["id"], "--interval", "0.3")
    assert result.code == 2, result.stdout + result.stderr
    assert "STOPPED" in result.stdout.strip().splitlines()[-1]
    paths = [item["path"] for item in cli("jobs", "outputs", job["id"], "--json").json()]
    assert "early.txt" in paths


def test_unknown_ids_are_one_clear_line(cli: Cli, setup: dict[str, str]) -> None:
    cli("jobs", "show", "no-such-job").assert_one_line_error("not found", "no-such-job")
    cli("jobs", "watch", "no-such-job").assert_one_line_error("not found")
    submit(cli, "no-such-model", "public/out/x").assert_one_line_error(
        "model 'no-such-model' not found"
    )
    cli(
        "jobs", "submit", "-m", setup["double"], "-c", "nope", "-i", "public/in", "-o", "public/o"
    ).assert_one_line_error("configuration 'nope' not found")
    cli(
        "jobs",
        "submit",
        "-m",
        setup["double"],
        "-c",
        "jobs-env",
        "-i",
        "public/none",
        "-o",
        "public/o",
    ).assert_one_line_error("public/none")


def test_ctrl_c_while_watching_stops_the_job(cli: Cli, setup: dict[str, str]) -> None:
    process = cli.start(
        "jobs",
        "submit",
        "-m",
        setup["slow"],
        "-c",
        "jobs-env",
        "-i",
        "public/in",
        "-o",
        "public/out/interrupted",
        "--watch",
        "--interval",
        "0.3",
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "paragraph 2/2" in line:
            break
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=60)
    assert process.returncode == 2, "".join(lines) + rest + errors
    assert "asking job" in rest
    assert "STOPPED" in rest.strip().splitlines()[-1]
