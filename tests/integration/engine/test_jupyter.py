"""Jupyter notebooks on the same environments, papermill style."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest

from jobmanager.engine import Environment, EnvironmentSpec, NoteFormatError, Outcome
from jobmanager.engine.jupyter import run_notebook

pytestmark = pytest.mark.timeout(60)


def write_notebook(path: Path, *sources: str, parameters_cell: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if parameters_cell is not None:
        cell = nbformat.v4.new_code_cell(parameters_cell)
        cell.metadata["tags"] = ["parameters"]
        cells.insert(0, cell)
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), *cells]
    nbformat.write(nb, path)
    return path


def run(env: Environment, path: Path, **kwargs: Any) -> tuple[Any, Any]:
    result = run_notebook(env, path, path.with_name("out.ipynb"), **kwargs)
    executed = nbformat.read(result.executed_path, as_version=4)
    nbformat.validate(executed)
    return result, executed


@pytest.fixture
def env() -> Any:
    with Environment.start(EnvironmentSpec()) as environment:
        yield environment


def test_parameters_outputs_and_metadata(env: Environment, tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "n.ipynb",
        "print(greeting, n * 2, inputFolder == __import__('os').getcwd())\nz.put('k', 1)",
        parameters_cell="greeting = 'hi'\nn = 1",
    )
    progress: list[str] = []
    result, nb = run(env, path, parameters={"n": 21}, on_progress=lambda p: progress.append(str(p)))
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert nb.cells[2].metadata["tags"] == ["injected-parameters"]
    assert nb.cells[2].source == "# Parameters\nn = 21\n"
    assert [o["text"] for o in nb.cells[3].outputs] == ["hi 42 True\n"]  # no z.put report
    assert [c.metadata.papermill["status"] for c in nb.cells] == ["completed"] * 4
    assert nb.metadata.papermill["parameters"] == {"n": 21}
    assert progress[:2] == ["1 of 3: greeting = 'hi'", "2 of 3: # Parameters"]
    assert progress[2].startswith("3 of 3: print(greeting, n * 2")


def test_error_stops_by_default_with_papermill_banner(env: Environment, tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "n.ipynb", "x = 1", "1 / 0", "x = 2")
    result, nb = run(env, path)
    assert result.outcome is Outcome.FAILED
    assert result.message == "Cell 2 of 3 failed: ZeroDivisionError: division by zero"
    assert nb.cells[0].metadata["tags"] == ["papermill-error-cell-tag"]
    assert "In [2]" in nb.cells[0].source
    statuses = [c.metadata.papermill["status"] for c in nb.cells[1:] if "papermill" in c.metadata]
    assert statuses == ["completed", "completed", "failed", "pending"]


def test_go_on_after_errors_when_asked(env: Environment, tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "n.ipynb", "1 / 0", "print('after')")
    result, nb = run(env, path, stop_on_error=False)
    assert result.outcome is Outcome.FAILED
    assert nb.cells[-1].outputs[0]["text"] == "after\n"
    # No banner: papermill's says the run stopped there.
    statuses = [c.metadata.papermill["status"] for c in nb.cells]
    assert statuses == ["completed", "failed", "completed"]
    assert nb.metadata.papermill["exception"] is True


def test_deadline_interrupts_and_saves(env: Environment, tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "n.ipynb", "print('one')", "import time\ntime.sleep(60)")
    result, nb = run(env, path, deadline=time.monotonic() + 1.5, grace=1)
    assert result.outcome is Outcome.TIMED_OUT
    assert result.message == "The maximum execution time was exceeded during cell 2 of 2"
    assert nb.cells[1].outputs[0]["text"] == "one\n"
    assert nb.cells[2].metadata.papermill["status"] == "failed"


def test_environment_run_tells_notebooks_from_notes(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "n.ipynb", "open(outputFolder + '/f.txt', 'w').write('x')")
    with Environment.start() as env:
        result = env.run(path)
        assert result.outcome is Outcome.SUCCEEDED
        assert (env.output_dir / "f.txt").read_text() == "x"
        assert result.executed_path == env.output_dir / "n.ipynb"
        with pytest.raises(RuntimeError):
            env.run(path)


def test_output_flood_is_capped(env: Environment, tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "n.ipynb",
        "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 1_000_000)",
    )
    me = psutil.Process()
    before = me.memory_info().rss
    result, nb = run(env, path)
    assert result.outcome is Outcome.SUCCEEDED
    assert me.memory_info().rss - before < 80 * 1024**2
    texts = [o.get("text", "") for o in nb.cells[1].outputs]
    assert sum(len(t) for t in texts) < 12 * 1024**2
    assert "Output truncated" in texts[-1]


def test_unrunnable_payloads_are_format_errors(tmp_path: Path) -> None:
    other = tmp_path / "model.json"
    other.write_text('{"empty": "model"}')
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [{"cell_type": "nonsense"}], "nbformat": 4, "metadata": {}}')
    with Environment.start() as env, pytest.raises(NoteFormatError):
        env.run(other)
    with Environment.start() as env, pytest.raises(NoteFormatError):
        env.run(broken)


def test_a_kernel_ignoring_interrupts_is_killed(env: Environment, tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "n.ipynb",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
    )
    started = time.monotonic()
    result, nb = run(env, path, deadline=time.monotonic() + 1, grace=0.5)
    assert time.monotonic() - started < 10
    assert result.outcome is Outcome.TIMED_OUT
    assert nb.cells[1].metadata.papermill["status"] == "failed"
