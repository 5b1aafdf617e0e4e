"""`jobmanager run NOTEBOOK --input DIR`: the whole loop, on a configured server or on the
local service of the home (started by the first command, kept for the next)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import httpx
import nbformat
import pytest

from jobmanager.cli import local_service
from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess, free_port
from tests.acceptance.test_cli_jobs import FAILING_NOTE
from tests.integration.client.conftest import DOUBLE_NOTE

server = module_server()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "report.zpln").write_text(DOUBLE_NOTE)
    (tmp_path / "failing.zpln").write_text(FAILING_NOTE)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "numbers.txt").write_text("20\n")
    return tmp_path


def test_without_a_server_starts_a_local_service_and_keeps_it(workdir: Path) -> None:
    cli = Cli(workdir)
    first = cli("run", "report.zpln", "--input", "in", "--param", "factor=5")
    assert first.code == 0, first.stdout + first.stderr
    assert (workdir / "report-output" / "result.txt").read_text() == "100"
    assert "SUCCEEDED" in first.stdout.strip().splitlines()[-1]
    found = re.search(
        r"local jobmanager service \(pid (\d+)\) at (http://\S+) \(home (\S+)\)", first.stderr
    )
    assert found, first.stderr
    assert Path(found.group(3)) == workdir / ".jobmanager"
    assert httpx.get(f"{found.group(2)}/health", timeout=2).status_code == 200
    second = cli("run", "report.zpln", "-i", "in", "-o", "again")
    assert second.code == 0, second.stdout + second.stderr
    assert "local jobmanager service" not in second.stderr  # the same one, warm
    assert (workdir / "again" / "result.txt").read_text() == "40"
    service = local_service.find(workdir / ".jobmanager")
    assert service is not None and service.pid == int(found.group(1))


def test_a_stopped_local_server_is_started_on_its_home_for_the_command(workdir: Path) -> None:
    local = ServerProcess(workdir / ".jobmanager").start()
    local.stop()  # its dev credentials stay in ./.jobmanager, nothing answers
    result = Cli(workdir)("run", "report.zpln", "-i", "in")
    assert result.code == 0, result.stdout + result.stderr
    assert f"(home {workdir / '.jobmanager'})" in result.stderr
    Cli(workdir)("serve", "--stop").assert_ok()
    local.start()  # what the run made is in that home
    try:
        cli = Cli(workdir)  # dev credentials of ./.jobmanager, the server answers
        models = cli("models", "list", "--json").assert_ok()
        assert "local jobmanager service" not in models.stderr  # the one run by hand serves
        assert [m["name"] for m in models.json()] == ["report"]
    finally:
        local.stop()


def test_on_the_configured_server_reuses_model_and_configuration(
    workdir: Path, server: ServerProcess
) -> None:
    cli = Cli.for_server(workdir, server)
    first = cli("run", "report.zpln", "-i", "in", "-o", "first")
    assert first.code == 0, first.stdout + first.stderr
    assert "embedded" not in first.stderr
    second = cli("run", "report.zpln", "-i", "in", "-o", "second", "--timeout", "120")
    assert second.code == 0, second.stdout + second.stderr
    assert (workdir / "second" / "result.txt").read_text() == "40"
    models = cli("models", "list", "--json").assert_ok().json()
    assert [(m["name"], m["lastVersion"]["number"]) for m in models] == [("report", 2)]
    assert [c["name"] for c in cli("configs", "list", "--json").json()] == ["default"]


def test_a_jupyter_notebook_with_a_parameters_cell(workdir: Path, server: ServerProcess) -> None:
    (workdir / "scale.ipynb").write_text(
        jupyter_notebook(
            ("factor = 2", ["parameters"]),
            (
                "import pathlib\n"
                "value = int(pathlib.Path('numbers.txt').read_text())\n"
                "pathlib.Path(outputFolder, 'scaled.txt').write_text(str(value * int(factor)))",
                [],
            ),
        )
    )
    result = Cli.for_server(workdir, server)("run", "scale.ipynb", "-i", "in", "-P", "factor=7")
    assert result.code == 0, result.stdout + result.stderr
    assert "cell" in result.stdout
    assert (workdir / "scale-output" / "scaled.txt").read_text() == "140"
    assert (workdir / "scale-output" / "scale.ipynb").exists()


def test_nan_and_infinities_as_papermills_p(workdir: Path, server: ServerProcess) -> None:
    """`run --param x=nan` (and `inf`, `-inf`) as papermill's `-p x nan` (issue 23): the
    notebook gets `float('nan')` in the cell papermill's Python translator writes."""
    translators = pytest.importorskip("papermill.translators")
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "jupyter" / "nan-parameters.ipynb"
    (workdir / "limits.ipynb").write_bytes(fixture.read_bytes())
    cli = Cli.for_server(workdir, server)
    args = ["-P", "threshold=nan", "-P", "ceiling=inf", "-P", "floor=-inf"]
    result = cli("run", "limits.ipynb", "-i", "in", *args)
    assert result.code == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    executed = nbformat.read(workdir / "limits-output" / "limits.ipynb", as_version=4)
    expected = {"threshold": math.nan, "ceiling": math.inf, "floor": -math.inf}
    assert executed.cells[1].source == translators.PythonTranslator.codify(expected)
    assert executed.cells[2].outputs[0]["text"] == "True inf -inf\n"
    [job] = cli("jobs", "list", "--json").assert_ok().json()[:1]
    assert job["parameters"]["threshold"] == {"$numberDouble": "NaN"}


def jupyter_notebook(*cells: tuple[str, list[str]]) -> str:
    """An nbformat 4 notebook of code cells (source, tags)."""
    document = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": tags},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for source, tags in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document)


def test_failed_run_exits_1_and_still_downloads(workdir: Path, server: ServerProcess) -> None:
    result = Cli.for_server(workdir, server)("run", "failing.zpln", "-i", "in")
    assert result.code == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout.strip().splitlines()[-1]
    assert list((workdir / "failing-output").iterdir())


def test_clear_errors(workdir: Path) -> None:
    cli = Cli(workdir)
    cli("run", "missing.ipynb", "-i", "in").assert_one_line_error("no such file", "missing.ipynb")
    cli("run", "report.zpln", "-i", "nothing").assert_one_line_error("no such folder", "nothing")
    down = f"http://127.0.0.1:{free_port()}"
    configured = Cli(
        workdir,
        {"JOBMANAGER_URL": down, "JOBMANAGER_CLIENT_ID": "a", "JOBMANAGER_CLIENT_SECRET": "b"},
    )
    configured("run", "report.zpln", "-i", "in").assert_one_line_error("cannot reach", down)


def test_a_notebook_whose_name_no_folder_may_have(workdir: Path, server: ServerProcess) -> None:
    name = "Zeppelin • report, v2 | draft"
    (workdir / f"{name}.zpln").write_text(DOUBLE_NOTE)
    cli = Cli.for_server(workdir, server)
    result = cli("run", f"{name}.zpln", "-i", "in", "-o", "out", "--param", "factor=5")
    assert result.code == 0, result.stdout + result.stderr
    assert (workdir / "out" / "result.txt").read_text() == "100"
    models = cli("models", "list", "--json").assert_ok().json()
    assert name in [m["name"] for m in models]
