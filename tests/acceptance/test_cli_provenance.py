"""`jobmanager jobs provenance|rerun|repair` against a real server with real kernels: a
job fails for want of an input file, its provenance says where, the file arrives, a
repair replays what came before and finishes; a re-run warns of the changed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.integration.client.conftest import zeppelin_note

server = module_server()

# Paragraph 1 sets the kernel's state; paragraph 2 needs `extra.txt`, missing at first.
NOTE = zeppelin_note(
    "%python\nimport uuid\nbase = 40\nprint('token', uuid.uuid4().hex)",
    "%python\nimport os\nextra = int(open(os.path.join(inputFolder, 'extra.txt')).read())\n"
    "print('sum', base + extra)",
)


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    cli = Cli.for_server(tmp_path, server)
    (tmp_path / "stateful.zpln").write_text(NOTE)
    cli("models", "upload", "stateful.zpln").assert_ok()
    cli("configs", "create", "provenance-env").assert_ok()
    (tmp_path / "a.txt").write_text("first")
    cli("data", "upload", "a.txt", "public/rin").assert_ok()
    return cli


def test_a_failed_job_is_repaired_and_rerun_from_the_cli(cli: Cli, tmp_path: Path) -> None:
    submitted = cli(
        "jobs",
        "submit",
        "-m",
        "stateful",
        "-c",
        "provenance-env",
        "-i",
        "public/rin",
        "-o",
        "public/rout",
        "-P",
        "run=True",
        "--watch",
        "--json",
        timeout=300,
    )
    failed = submitted.json()
    assert submitted.code == 1 and failed["status"] == "FAILED", failed
    assert failed["parameters"] == {"run": True}

    record = cli("jobs", "provenance", failed["id"], "--json").assert_ok().json()
    assert record["failedStep"] == 2 and list(record["inputs"]) == ["a.txt"]
    assert any(p.startswith("ipykernel==") for p in record["environment"]["packages"])
    shown = cli("jobs", "provenance", failed["id"]).assert_ok().stdout
    assert "failed step" in shown and "input a.txt" in shown

    (tmp_path / "extra.txt").write_text("2")
    cli("data", "upload", "extra.txt", "public/rin").assert_ok()
    repaired = cli("jobs", "repair", failed["id"], "--watch", "--json", timeout=300)
    job = repaired.json()
    assert repaired.code == 0, job
    assert job["repairOf"] == failed["id"] and "paragraph 1 replayed" in job["message"]
    cli("jobs", "outputs", job["id"], "--download", str(tmp_path / "got")).assert_ok()
    executed = json.loads((tmp_path / "got" / record["executedNote"]).read_text())
    texts = [p["results"]["msg"][0]["data"] for p in executed["paragraphs"]]
    assert texts[0].startswith("token ") and texts[1] == "sum 42\n"
    assert executed["info"]["jobmanager"]["jobId"] == job["id"]

    again = cli("jobs", "rerun", failed["id"], "-P", "run=False", "--watch", "--json", timeout=300)
    rerun = again.json()
    assert again.code == 0, rerun
    assert rerun["rerunOf"] == failed["id"] and rerun["parameters"] == {"run": False}
    assert "extra.txt (new)" in rerun["message"]
    cli("jobs", "repair", rerun["id"]).assert_one_line_error("SUCCEEDED")
