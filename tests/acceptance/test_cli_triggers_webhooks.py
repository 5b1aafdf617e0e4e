"""`jobmanager webhooks` and `jobmanager schedules` with a trigger against a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.integration.client.conftest import DOUBLE_NOTE
from tests.webhook_receiver import ReceiverProcess

server = module_server(JOBMANAGER_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")  # local receivers


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    return Cli.for_server(tmp_path / "cli", server)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[ReceiverProcess]:
    process = ReceiverProcess(tmp_path / "receiver").start()
    yield process
    process.stop()


def test_the_cli_manages_webhooks_and_shows_deliveries(cli: Cli, receiver: ReceiverProcess) -> None:
    made = (
        cli("webhooks", "create", receiver.url, "-e", "stopped", "--name", "ops", "--json")
        .assert_ok()
        .json()
    )
    assert made["events"] == ["stopped"] and len(made["secret"]) >= 32
    listed = cli("webhooks", "list", "--json").assert_ok().json()
    assert made["id"] in [w["id"] for w in listed]
    shown = cli("webhooks", "show", made["id"]).assert_ok().stdout
    assert receiver.url in shown and "stopped" in shown
    assert made["secret"] not in shown
    assert cli("webhooks", "deliveries", made["id"]).assert_ok().stdout.strip() == "no deliveries"
    cli("webhooks", "create", receiver.url, "-e", "exploded").assert_one_line_error("events")
    cli("webhooks", "delete", made["id"]).assert_ok()
    cli("webhooks", "show", made["id"]).assert_one_line_error("not found")


def test_a_cli_schedule_on_files_fires_on_a_cli_upload(cli: Cli, tmp_path: Path) -> None:
    note = tmp_path / "double.zpln"
    note.write_text(DOUBLE_NOTE)
    model_id = cli("models", "upload", str(note), "--json").assert_ok().json()["id"]
    cli("configs", "create", "on-files-env").assert_ok()
    cli("data", "mkdir", "public/incoming").assert_ok()
    made = (
        cli(
            "schedules",
            "create",
            "on csv",
            "-m",
            model_id,
            "-c",
            "on-files-env",
            "-i",
            "public/incoming",
            "-o",
            "public/on-csv-out",
            "--on-files-in",
            "public/incoming",
            "--pattern",
            "*.csv",
            "--json",
        )
        .assert_ok()
        .json()
    )
    assert made["trigger"]["pattern"] == "*.csv" and made["scheduleString"] == ""
    assert "files *.csv in" in cli("schedules", "show", made["id"]).assert_ok().stdout
    local = tmp_path / "day1.csv"
    local.write_text("t,v\n1,2\n")
    cli("data", "upload", str(local), "public/incoming").assert_ok()
    deadline = time.monotonic() + 30
    while not (fired := cli("schedules", "firings", made["id"], "--json").assert_ok().json()):
        assert time.monotonic() < deadline, "the upload fired nothing"
        time.sleep(0.2)
    (firing,) = fired
    assert [f["name"] for f in firing["files"]] == ["day1.csv"] and firing["jobId"]
    assert "day1.csv" in cli("schedules", "firings", made["id"]).assert_ok().stdout
    cli(
        "schedules",
        "create",
        "both",
        "-m",
        model_id,
        "-c",
        "on-files-env",
        "-i",
        "public",
        "-o",
        "public",
        "--cron",
        "0 0 3 * * ?",
        "--on-files-in",
        "public/incoming",
    ).assert_one_line_error("exactly one")
