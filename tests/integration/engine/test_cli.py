"""`jobmanager run-note` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import typer
from typer.testing import CliRunner

from jobmanager.cli.jobs import parameters
from jobmanager.cli.run_note import app, parse_params
from tests.integration.engine.conftest import FIXTURES, write_note

pytestmark = pytest.mark.timeout(60)


def test_fixture_fails_with_exit_code_1_and_writes_the_executed_note(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(FIXTURES / "fixture_input.zpln"), "--output", str(out)])
    assert result.exit_code == 1, result.output
    executed = json.loads((out / "fixture_input_2JX7K4Q9M.zpln").read_text())
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
    assert (out / "n_2JX7K4Q9M.zpln").exists()  # named as Zeppelin keeps the note


def test_timeout_exits_2(tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%sh\nsleep 30")
    result = CliRunner().invoke(app, [str(note), "--output", str(tmp_path), "--timeout", "1"])
    assert result.exit_code == 2, result.output
    assert "timed_out" in result.output


def test_params_must_be_key_value() -> None:
    assert parse_params(["a=x", "b==2", "c="]) == {"a": "x", "b": "=2", "c": ""}
    with pytest.raises(typer.BadParameter):
        parse_params(["novalue"])


TEXTS = [
    "1",
    "-2",
    "2.5",
    "1e3",
    "True",
    "False",
    "None",
    "true",
    "none",
    "",
    "text",
    "0x1",
    "1_000",
]


def test_params_are_typed_as_papermill_types_them() -> None:
    papermill_cli = pytest.importorskip("papermill.cli")
    expected = {text: papermill_cli._resolve_type(text) for text in TEXTS}
    assert parse_params([f"{text}={text}" for text in TEXTS if text]) == {
        text: value for text, value in expected.items() if text
    }
    assert parameters([f"k={text}" for text in TEXTS[:4]]) == {"k": 1000.0}
    assert parameters(["n=21", "flag=True", "name=x"]) == {"n": 21, "flag": True, "name": "x"}


def notebook(path: Path, *sources: str, parameters_cell: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if parameters_cell is not None:
        cell = nbformat.v4.new_code_cell(parameters_cell)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)
    return path


def test_a_notebook_gets_typed_parameters_and_stops_at_an_error(tmp_path: Path) -> None:
    path = notebook(
        tmp_path / "n.ipynb",
        "assert n + 1 == 22 and ratio == 0.5 and flag is True and label is None",
        "1 / 0",
        "open(outputFolder + '/end', 'w')",
        parameters_cell="n, ratio, flag, label = 0, 0.0, False, 'x'",
    )
    out = tmp_path / "out"
    args = [str(path), "--output", str(out), "-P", "n=21", "-P", "ratio=0.5", "-P", "flag=True"]
    result = CliRunner().invoke(app, [*args, "-P", "label=None"])
    assert result.exit_code == 1, result.output
    assert "Cell 4 of 5 failed: ZeroDivisionError" in result.output
    assert not (out / "end").exists()  # papermill's default: the first error ends the run
    result = CliRunner().invoke(app, [*args, "-P", "label=None", "--go-on-after-error"])
    assert result.exit_code == 1, result.output
    assert (out / "end").exists()


def test_a_note_goes_on_after_an_error_unless_asked(tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "1 / 0", "%sh\ntouch $outputFolder/end")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(note), "--output", str(out), "--stop-on-error"])
    assert result.exit_code == 1, result.output
    assert not (out / "end").exists()
    executed = json.loads((out / "n_2JX7K4Q9M.zpln").read_text())
    assert [p["status"] for p in executed["paragraphs"]] == ["ERROR", "READY"]
    result = CliRunner().invoke(app, [str(note), "--output", str(out)])
    assert result.exit_code == 1, result.output
    assert (out / "end").exists()


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
