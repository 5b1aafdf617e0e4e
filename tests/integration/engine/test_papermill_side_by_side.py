"""Notebooks of tests/fixtures/jupyter run here and by papermill itself (issue 26).

Each test runs the same file through the engine and through `papermill.execute_notebook`
(the dev extra installs papermill) and compares what a user sees: outcome, cells, their
outputs and papermill metadata, the banner. Where this service differs on purpose, the
test says so and why.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jobmanager.engine import Environment, EnvironmentSpec, NoteFormatError, Outcome, RunResult
from jobmanager.engine.jupyter import run_notebook

pm = pytest.importorskip("papermill")
pm_exceptions = pytest.importorskip("papermill.exceptions")
jupyter_client = pytest.importorskip("jupyter_client.kernelspec")

pytestmark = pytest.mark.timeout(120)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "jupyter"


@pytest.fixture
def env() -> Iterator[Environment]:
    """A fresh kernel, as papermill's: execution counts start at 1 (the banner shows one)."""
    with Environment.start(EnvironmentSpec()) as environment:
        yield environment


@pytest.fixture(autouse=True)
def _quiet_papermill() -> Iterator[None]:
    logging.disable(logging.WARNING)  # papermill logs every cell; nbformat its warnings
    yield
    logging.disable(logging.NOTSET)


def ours(env: Environment, name: str, tmp_path: Path, **kwargs: Any) -> tuple[RunResult, Any]:
    model = tmp_path / name
    shutil.copy(FIXTURES / name, model)
    result = run_notebook(env, model, tmp_path / "ours.ipynb", **kwargs)
    return result, json.loads(result.executed_path.read_text())


def papermills(name: str, tmp_path: Path, **kwargs: Any) -> tuple[Exception | None, Any]:
    """papermill's run of the fixture: the error it raised, if any, and its output."""
    output = tmp_path / "papermill.ipynb"
    raised: Exception | None = None
    try:
        pm.execute_notebook(str(FIXTURES / name), str(output), progress_bar=False, **kwargs)
    except Exception as error:
        raised = error
    return raised, json.loads(output.read_text()) if output.exists() else None


def seen(nb: Any) -> list[tuple[Any, ...]]:
    """What a reader sees of each cell: type, tags, papermill status, source, outputs."""
    return [
        (
            cell["cell_type"],
            cell["metadata"].get("tags", []),
            cell["metadata"].get("papermill", {}).get("status"),
            "".join(cell["source"]),
            [(o["output_type"], "".join(o.get("text", "")), o.get("ename")) for o in outputs],
        )
        for cell in nb["cells"]
        for outputs in [cell.get("outputs", [])]
    ]


def test_a_raises_exception_cell_fails_the_run_at_its_end_as_papermill(
    env: Environment, tmp_path: Path
) -> None:
    """nbclient lets a cell tagged `raises-exception` fail and runs on
    (`NotebookClient._check_raise_for_error`, nbclient/client.py); papermill then fails
    the run naming it, with its banner (`raise_for_execution_errors`, papermill/execute.py);
    the tagged cell's papermill status stays "completed" (`cell_complete`, engines.py)."""
    result, executed = ours(env, "raises-exception.ipynb", tmp_path)
    raised, expected = papermills("raises-exception.ipynb", tmp_path)
    assert isinstance(raised, pm_exceptions.PapermillExecutionError)
    assert result.outcome is Outcome.FAILED
    assert result.message == "Cell 2 of 3 failed: ValueError: a documented failure"
    assert seen(executed) == seen(expected)
    assert seen(executed)[5][4] == [("stream", "after\n", None)]  # the run went on
    assert executed["metadata"]["papermill"]["exception"] is False  # as papermill's


def test_a_later_failure_after_a_raises_exception_cell_is_papermills_banner_cell(
    env: Environment, tmp_path: Path
) -> None:
    """papermill's `raise_for_execution_errors` goes on looking after a cell with an error
    output, so its banner names the last one: here the cell that ended the run."""
    book = json.loads((FIXTURES / "raises-exception.ipynb").read_text())
    book["cells"][3]["source"] = "print('after')\n1 / 0"
    book["cells"].append({**book["cells"][0], "id": "c5", "source": "print('never')"})
    name = "two-failures.ipynb"
    (tmp_path / "in").mkdir()
    fixture = tmp_path / "in" / name
    fixture.write_text(json.dumps(book))
    result = run_notebook(env, fixture, tmp_path / "ours.ipynb")
    executed = json.loads(result.executed_path.read_text())
    output = tmp_path / "papermill.ipynb"
    with pytest.raises(pm_exceptions.PapermillExecutionError):
        pm.execute_notebook(str(fixture), str(output), progress_bar=False)
    assert result.message.startswith("Cell 2 of 4 failed: ValueError: a documented failure")
    assert "(cells 3 failed too)" in result.message
    assert seen(executed) == seen(json.loads(output.read_text()))


def test_nan_and_infinities_are_injected_as_papermill_injects_them(
    env: Environment, tmp_path: Path
) -> None:
    """papermill's `PythonTranslator.translate_float` (papermill/translators.py) writes
    `float('nan')`, `float('inf')` and `float('-inf')`; the injected cell is the same."""
    parameters = {"threshold": math.nan, "ceiling": math.inf, "floor": -math.inf}
    result, executed = ours(env, "nan-parameters.ipynb", tmp_path, parameters=parameters)
    raised, expected = papermills("nan-parameters.ipynb", tmp_path, parameters=parameters)
    assert raised is None
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert seen(executed) == seen(expected)
    assert executed["cells"][1]["source"] == expected["cells"][1]["source"]


def test_an_nbformat_3_notebook_runs_upgraded_as_papermill_runs_it(
    env: Environment, tmp_path: Path
) -> None:
    """papermill reads a notebook with `nbformat.reads(..., as_version=4)` and
    `nbformat.v4.upgrade` (`load_notebook_node`, papermill/iorw.py): a v3 notebook runs as
    4.5. It names no kernel, so papermill needs `-k python3`: a job's configuration gives
    its Python (docs/engine.md)."""
    result, executed = ours(env, "ipython2-v3.ipynb", tmp_path)
    raised, expected = papermills("ipython2-v3.ipynb", tmp_path, kernel_name="python3")
    assert raised is None
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert (executed["nbformat"], executed["nbformat_minor"]) == (4, 5)
    assert seen(executed) == seen(expected)
    assert seen(executed)[2][4] == [("stream", "[0, 1, 4, 9, 16]\n", None)]


def test_a_kernelspec_without_name_runs_on_the_default_kernel_where_papermill_refuses(
    env: Environment, tmp_path: Path
) -> None:
    """papermill's `nb_kernel_name` (papermill/utils.py) refuses a notebook that names no
    kernel unless given one (`-k`). Here a job's configuration always gives one, its
    Python runtime, so the notebook runs on it, its kernelspec completed (docs/engine.md);
    with the same override papermill runs it alike."""
    raised, _ = papermills("no-kernel-name.ipynb", tmp_path)
    assert str(raised) == "No kernel name found in notebook and no override provided."
    result, executed = ours(env, "no-kernel-name.ipynb", tmp_path)
    _, expected = papermills("no-kernel-name.ipynb", tmp_path, kernel_name="python3")
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert seen(executed) == seen(expected)
    assert executed["metadata"]["kernelspec"]["name"] == "python3"
    nbformat.validate(nbformat.from_dict(executed))  # papermill's copy stays invalid


def test_a_newer_nbformat_minor_version_runs_as_papermill_runs_it(
    env: Environment, tmp_path: Path
) -> None:
    """nbformat validates a minor version newer than it knows with unknown fields allowed
    (`get_validator`, nbformat/validator.py) and papermill runs it. papermill's
    `nbformat.v4.upgrade` writes it back as 4.5, with fields 4.5 does not allow; here it
    keeps its own version, so the executed notebook stays valid."""
    result, executed = ours(env, "future-minor.ipynb", tmp_path)
    raised, expected = papermills("future-minor.ipynb", tmp_path)
    assert raised is None
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert seen(executed) == seen(expected)
    assert executed["nbformat_minor"] == 99
    assert executed["cells"][0]["collapsed_in_a_future_way"] is True
    nbformat.validate(nbformat.from_dict(executed))


@pytest.mark.parametrize(("name", "kernel"), [("julia.ipynb", "julia-1.10"), ("r.ipynb", "ir")])
def test_another_languages_notebook_never_runs_as_python(
    env: Environment, tmp_path: Path, name: str, kernel: str
) -> None:
    """papermill starts the kernel the notebook names, which is not installed here
    (`NoSuchKernel` from jupyter_client); the engine has only Python and refuses."""
    raised, _ = papermills(name, tmp_path)
    assert isinstance(raised, jupyter_client.NoSuchKernel)
    assert str(raised) == f"No such kernel named {kernel}"
    with pytest.raises(NoteFormatError, match=f"kernel {kernel} runs .*Python notebooks only"):
        ours(env, name, tmp_path)


def test_a_notebook_whose_metadata_is_a_list_is_refused_naming_it(
    env: Environment, tmp_path: Path
) -> None:
    """nbformat's reader fails on it with Python's own words (papermill raises them: "pop
    expected at most 1 argument, got 2"); the engine checks nbformat's schema first."""
    raised, _ = papermills("metadata-list.ipynb", tmp_path)
    assert isinstance(raised, TypeError)
    with pytest.raises(NoteFormatError) as refused:
        ours(env, "metadata-list.ipynb", tmp_path)
    assert str(refused.value) == (
        "Not a valid Jupyter notebook: metadata: ['kernelspec', 'language_info'] is not of "
        "type 'object'"
    )
