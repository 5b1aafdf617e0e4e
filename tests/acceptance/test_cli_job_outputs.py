"""`jobmanager jobs outputs` against a real server: a job's own outputs, listed and
downloaded (all, or one) as it saved them after a re-run overwrote its output folder,
which shows the re-run's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.integration.client.conftest import zeppelin_note

server = module_server()

WORD_NOTE = zeppelin_note(
    "%python\nimport pathlib\nword = z.textbox('word', 'none')\n"
    "pathlib.Path(outputFolder, 'result.txt').write_text(word)\n"
    "pathlib.Path(outputFolder, 'data').mkdir()\n"
    "pathlib.Path(outputFolder, 'data', 'rows.csv').write_text('n\\n1\\n')"
)


@pytest.fixture
def cli(tmp_path: Path, server: ServerProcess) -> Cli:
    return Cli.for_server(tmp_path, server)


def test_outputs_lists_and_downloads_what_the_job_saved(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "word.zpln").write_text(WORD_NOTE)
    cli("models", "upload", "word.zpln").assert_ok()
    cli("configs", "create", "outputs-env").assert_ok()
    cli("data", "mkdir", "public/empty").assert_ok()
    first = cli(
        "jobs", "submit", "-m", "word", "-c", "outputs-env", "-i", "public/empty",
        "-o", "public/shared", "-P", "word=first", "--watch", "--json", timeout=300,
    )  # fmt: skip
    assert first.code == 0, first.stdout + first.stderr
    first_id = first.json()["id"]
    again = cli("jobs", "rerun", first_id, "-P", "word=second", "--watch", "--json", timeout=300)
    assert again.code == 0, again.stdout + again.stderr

    listed = cli("jobs", "outputs", first_id, "--json").assert_ok().json()
    by_path = {item["path"]: item for item in listed}
    assert set(by_path) == {"data/rows.csv", "result.txt", "word_2JTESTNOTE.zpln"}
    assert by_path["result.txt"]["sha256"] == hashlib.sha256(b"first").hexdigest()
    assert by_path["result.txt"]["sizeInBytes"] == 5
    table = cli("jobs", "outputs", first_id).assert_ok().stdout
    assert "result.txt" in table and hashlib.sha256(b"first").hexdigest() in table

    one = tmp_path / "one"
    done = cli("jobs", "outputs", first_id, "result.txt", "--download", str(one)).assert_ok()
    assert "downloaded 1 files" in done.stdout
    assert [p.name for p in one.rglob("*")] == ["result.txt"]
    assert (one / "result.txt").read_text() == "first"
    every = tmp_path / "every"
    cli("jobs", "outputs", first_id, "--download", str(every)).assert_ok()
    assert (every / "result.txt").read_text() == "first"
    assert (every / "data" / "rows.csv").read_text() == "n\n1\n"
    executed = (every / "word_2JTESTNOTE.zpln").read_text()  # the first job's, not the re-run's
    assert first_id in executed and again.json()["id"] not in executed

    folder = tmp_path / "folder"
    cli("data", "download", "public/shared", str(folder)).assert_ok()
    assert (folder / "result.txt").read_text() == "second"

    result = cli("jobs", "outputs", first_id, "missing.txt")
    result.assert_one_line_error(f"job {first_id} saved no output 'missing.txt'")
