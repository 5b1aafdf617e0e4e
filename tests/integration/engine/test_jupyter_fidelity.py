"""Notebooks run as papermill runs them (issue 14): nbformat versions, exits, errors, stdin."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jobmanager.engine import Environment, EnvironmentSpec, Outcome, RunResult
from jobmanager.engine.jupyter import run_notebook

pytestmark = pytest.mark.timeout(60)
BANNER_TAG = "papermill-error-cell-tag"


def cell(source: str, kind: str = "code", tags: tuple[str, ...] = ()) -> dict[str, Any]:
    """A cell as nbformat 4.4 writes it: no id."""
    made: dict[str, Any] = {"cell_type": kind, "metadata": {"tags": list(tags)}, "source": source}
    if kind == "code":
        made.update(execution_count=None, outputs=[])
    return made


def write_v44(path: Path, *cells: dict[str, Any], **metadata: Any) -> Path:
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    document = {
        "cells": list(cells),
        "metadata": {"kernelspec": kernelspec, **metadata},
        "nbformat": 4,
        "nbformat_minor": 4,
    }
    path.write_text(json.dumps(document, indent=1))
    return path


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    with Environment.start(EnvironmentSpec()) as environment:
        yield environment


def run(env: Environment, path: Path, **kwargs: Any) -> tuple[RunResult, Any]:
    result = run_notebook(env, path, path.with_name("out.ipynb"), **kwargs)
    executed = nbformat.read(result.executed_path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(executed)
    return result, executed


def statuses(nb: Any) -> list[str]:
    return [c.metadata.papermill["status"] for c in nb.cells if "papermill" in c.metadata]


def test_an_nbformat_44_notebook_is_upgraded_as_papermill_does(
    env: Environment, tmp_path: Path
) -> None:
    path = write_v44(
        tmp_path / "report.ipynb",
        cell("# Report", "markdown"),
        cell("n = 1", tags=("parameters",)),
        cell("1 / n"),
    )
    result, nb = run(env, path, parameters={"n": 0})
    assert result.outcome is Outcome.FAILED
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert all(c.get("id") for c in nb.cells)
    assert nb.cells[0].metadata["tags"] == [BANNER_TAG]  # papermill's banner, valid 4.5
    assert nb.metadata.papermill["input_path"] == "report.ipynb"
    assert nb.metadata.papermill["output_path"] == "out.ipynb"


def test_sys_exit_0_ends_the_run_and_it_succeeds(env: Environment, tmp_path: Path) -> None:
    path = write_v44(
        tmp_path / "n.ipynb",
        cell("print('before')"),
        cell("import sys\nsys.exit(0)"),
        cell("print('never')"),
    )
    result, nb = run(env, path)
    assert result.outcome is Outcome.SUCCEEDED
    assert result.message == "Cell 2 of 3 ended the run"
    assert nb.cells[2].outputs == []
    assert statuses(nb) == ["completed", "failed", "pending"]  # papermill's metadata
    assert not any(BANNER_TAG in c.metadata.get("tags", []) for c in nb.cells)


def test_sys_exit_1_fails_even_when_going_on_after_errors(env: Environment, tmp_path: Path) -> None:
    path = write_v44(tmp_path / "n.ipynb", cell("raise SystemExit(1)"), cell("print('never')"))
    result, nb = run(env, path, stop_on_error=False)
    assert result.outcome is Outcome.FAILED
    assert result.message == "Cell 1 of 2 failed: SystemExit: 1"
    assert nb.cells[0].metadata["tags"] == [BANNER_TAG]


def test_a_line_magic_usage_error_fails_the_cell(env: Environment, tmp_path: Path) -> None:
    path = write_v44(tmp_path / "n.ipynb", cell("%no_such_magic 1"), cell("print('never')"))
    result, nb = run(env, path)
    assert result.outcome is Outcome.FAILED
    assert result.message.startswith("Cell 1 of 2 failed: UsageError: Line magic function")
    assert statuses(nb)[-2:] == ["failed", "pending"]


def test_stale_banners_are_removed_before_a_run(env: Environment, tmp_path: Path) -> None:
    path = write_v44(
        tmp_path / "n.ipynb",
        cell("<span>An Exception was encountered</span>", "markdown", (BANNER_TAG,)),
        cell("<span id='papermill-error-cell'>here</span>", "markdown", (BANNER_TAG,)),
        cell("print('fixed now')"),
    )
    result, nb = run(env, path)
    assert result.outcome is Outcome.SUCCEEDED
    assert [c.cell_type for c in nb.cells] == ["code"]


def test_input_fails_at_once(env: Environment, tmp_path: Path) -> None:
    path = write_v44(tmp_path / "n.ipynb", cell("name = input('name? ')"))
    started = time.monotonic()
    result, _ = run(env, path, deadline=time.monotonic() + 30)
    assert time.monotonic() - started < 10
    assert result.outcome is Outcome.FAILED
    assert "StdinNotImplementedError" in result.message


def test_a_kernelspec_without_name_runs_with_the_default_kernel(
    env: Environment, tmp_path: Path
) -> None:
    path = write_v44(tmp_path / "n.ipynb", cell("print(6 * 7)"))
    document = json.loads(path.read_text())
    document["metadata"]["kernelspec"] = {"display_name": "Python 3", "language": "python"}
    path.write_text(json.dumps(document))
    result, nb = run(env, path)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert nb.metadata.kernelspec["name"] == "python3"
