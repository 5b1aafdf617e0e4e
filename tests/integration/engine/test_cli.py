"""`jobmanager run-note` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import typer
from typer.testing import CliRunner

from jobmanager.cli.run_note import app, parse_params
from tests.integration.engine.conftest import FIXTURES, write_note

pytestmark = pytest.mark.timeout(60)


def test_fixture_fails_with_exit_code_1_and_writes_the_executed_note(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(FIXTURES / "fixture_input.zpln"), "--output", str(out)])
    assert result.exit_code == 1, result.output
    executed = json.loads((out / "fixture_input.zpln").read_text())
    assert executed["paragraphs"][3]["status"] == "ERROR"
    assert "Paragraph 4 of 5 failed" in result.output


def test_input_params_outputs_and_success(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "sub" / "data.txt").write_text("42")
    note = write_note(
        tmp_path / "n.zpln",
        "import pathlib\n"
        "v = pathlib.Path(inputFolder, 'sub', 'data.txt').read_text()\n"
        "pathlib.Path(outputFolder, 'r.txt').write_text(v + z.textbox('x', '?'))",
    )
    out = tmp_path / "out"
    args = [str(note), "--input", str(tmp_path / "in"), "--output", str(out), "--param", "x=!"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "r.txt").read_text() == "42!"
    assert (out / "n.zpln").exists()


def test_timeout_exits_2(tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%sh\nsleep 30")
    result = CliRunner().invoke(app, [str(note), "--output", str(tmp_path), "--timeout", "1"])
    assert result.exit_code == 2, result.output
    assert "timed_out" in result.output


def test_params_must_be_key_value() -> None:
    assert parse_params(["a=1", "b==2", "c="]) == {"a": "1", "b": "=2", "c": ""}
    with pytest.raises(typer.BadParameter):
        parse_params(["novalue"])


def test_payload_that_is_no_model_exits_1(tmp_path: Path) -> None:
    other = tmp_path / "model.json"
    other.write_text('{"empty": "model"}')
    result = CliRunner().invoke(app, [str(other), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "neither a Zeppelin note nor a Jupyter notebook" in result.output


def test_a_notebook_runs_too(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(z.get('outputFolder') == outputFolder)")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    result = CliRunner().invoke(app, [str(path), "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    executed = nbformat.read(tmp_path / "out" / "n.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "True\n"


def test_a_broken_notebook_exits_1_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [{"cell_type": "nonsense"}], "nbformat": 4, "metadata": {}}')
    result = CliRunner().invoke(app, [str(broken), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "cannot run" in result.output
