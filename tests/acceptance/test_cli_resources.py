"""`jobmanager models | data | configs | schedules` against a real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.integration.client.conftest import DOUBLE_NOTE

server = module_server()


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    return Cli.for_server(tmp_path, server)


def test_models_upload_list_show_download_delete(cli: Cli, tmp_path: Path) -> None:
    note = tmp_path / "double.zpln"
    note.write_text(DOUBLE_NOTE)
    uploaded = cli("models", "upload", str(note), "--json").assert_ok().json()
    assert uploaded["name"] == "double"
    assert uploaded["lastVersion"]["payloadKind"] == "zeppelin"
    model_id = uploaded["id"]
    cli("models", "upload", str(note), "--model", model_id).assert_ok()
    listed = cli("models", "list", "--json").assert_ok().json()
    assert [m["id"] for m in listed] == [model_id]
    shown = cli("models", "show", "double", "--json").assert_ok().json()  # by name
    assert shown["id"] == model_id
    assert [v["number"] for v in shown["versions"]] in ([2, 1], [1, 2])
    table = cli("models", "show", model_id).assert_ok().stdout
    assert "zeppelin" in table
    assert model_id in table
    copy = tmp_path / "copy" / "note.zpln"
    cli("models", "download", model_id, "-o", str(copy)).assert_ok()
    assert copy.read_text() == DOUBLE_NOTE
    cli("models", "delete", model_id).assert_ok()
    cli("models", "show", model_id).assert_one_line_error("not found", model_id)
    assert cli("models", "list", "--json").assert_ok().json() == []


def test_missing_local_file_is_one_clear_line(cli: Cli) -> None:
    cli("models", "upload", "nowhere.ipynb").assert_one_line_error("no such file", "nowhere")
    cli("data", "upload", "no-dir", "public/x").assert_one_line_error("no such file", "no-dir")


def test_data_upload_ls_download_rm_by_path(cli: Cli, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "sub" / "deeper").mkdir(parents=True)
    (local / "a.csv").write_text("a,b\n1,2\n")
    payload = os.urandom(2_000_000)
    (local / "sub" / "deeper" / "big.bin").write_bytes(payload)
    result = cli("data", "upload", str(local), "public/inputs/day1").assert_ok()
    assert "uploaded 2 files" in result.stdout
    cli("data", "upload", str(local), "public/inputs/day1").assert_ok()  # again: replaces
    entries = cli("data", "ls", "public/inputs/day1", "--json").assert_ok().json()
    assert sorted(e["name"] for e in entries) == ["a.csv", "sub"]
    folder_id = next(e for e in entries if e["name"] == "sub")["id"]
    by_id = cli("data", "ls", folder_id, "--json").assert_ok().json()
    assert [e["name"] for e in by_id] == ["deeper"]
    out = tmp_path / "out"
    cli("data", "download", "public/inputs", str(out)).assert_ok()
    assert (out / "day1" / "sub" / "deeper" / "big.bin").read_bytes() == payload
    assert (out / "day1" / "a.csv").read_text() == "a,b\n1,2\n"
    cli("data", "download", "public/inputs/day1/a.csv", str(tmp_path / "one")).assert_ok()
    assert (tmp_path / "one" / "a.csv").read_text() == "a,b\n1,2\n"
    cli("data", "rm", "public/inputs").assert_one_line_error("not empty", "--recursive")
    cli("data", "rm", "public/inputs/day1/a.csv").assert_ok()
    cli("data", "rm", "-r", "public/inputs").assert_ok()
    cli("data", "ls", "public/inputs").assert_one_line_error("not found", "public/inputs")
    cli("data", "ls", "nonsense/path").assert_one_line_error()


def test_configs_create_list_show_delete(cli: Cli) -> None:
    made = (
        cli("configs", "create", "pandas-env", "--memory", "1024", "--env", "MODE=test", "--json")
        .assert_ok()
        .json()
    )
    assert made["resources"]["memoryMiB"] == 1024
    assert made["environmentVariables"] == {"MODE": "test"}
    listed = cli("configs", "list", "--json").assert_ok().json()
    assert made["id"] in [c["id"] for c in listed]
    shown = cli("configs", "show", "pandas-env").assert_ok().stdout  # by name
    assert "MODE=test" in shown
    assert isinstance(cli("configs", "environments", "--json").assert_ok().json(), list)
    cli("configs", "create", "bad", "--when-busy", "sometimes").assert_one_line_error("whenBusy")
    cli("configs", "create", "bad", "--env", "novalue").assert_one_line_error("key=value")
    cli("configs", "delete", made["id"]).assert_ok()
    cli("configs", "show", made["id"]).assert_one_line_error("not found")


def test_schedules_lifecycle(cli: Cli, tmp_path: Path) -> None:
    note = tmp_path / "nightly.zpln"
    note.write_text(DOUBLE_NOTE)
    model_id = cli("models", "upload", str(note), "--json").assert_ok().json()["id"]
    cli("configs", "create", "nightly-env").assert_ok()
    made = (
        cli(
            "schedules",
            "create",
            "nightly",
            "--model",
            model_id,
            "--config",
            "nightly-env",
            "--input",
            "public",
            "--output",
            "public/nightly-out",
            "--cron",
            "0 15 10 * * ?",
            "--json",
        )
        .assert_ok()
        .json()
    )
    assert made["status"] == "RUNNING"
    assert made["scheduleString"] == "0 15 10 * * ?"
    schedule_id = made["id"]
    assert [s["id"] for s in cli("schedules", "list", "--json").assert_ok().json()] == [schedule_id]
    assert cli("schedules", "stop", schedule_id, "--json").assert_ok().json()["status"] == "STOPPED"
    assert "RUNNING" in cli("schedules", "start", schedule_id).assert_ok().stdout
    assert "0 15 10 * * ?" in cli("schedules", "show", schedule_id).assert_ok().stdout
    cli("schedules", "delete", schedule_id).assert_ok()
    cli("schedules", "show", schedule_id).assert_one_line_error("not found")
