"""`on_output` and `on_step_end`: a run's output as the kernel sends it, and each
paragraph's or cell's end, for Zeppelin notes and Jupyter notebooks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobmanager.engine import Environment, EnvironmentSpec, Output, StepEnd
from tests.integration.engine.conftest import write_note
from tests.integration.engine.test_jupyter import write_notebook

pytestmark = pytest.mark.timeout(120)


class Seen:
    """What the callbacks saw, with when."""

    def __init__(self) -> None:
        self.outputs: list[tuple[float, Output]] = []
        self.ends: list[tuple[float, StepEnd]] = []

    def output(self, output: Output) -> None:
        self.outputs.append((time.monotonic(), output))

    def end(self, end: StepEnd) -> None:
        self.ends.append((time.monotonic(), end))

    def text(self, index: int, stream: str) -> str:
        return "".join(o.text for _, o in self.outputs if (o.index, o.stream) == (index, stream))


def test_a_notes_output_comes_while_its_paragraph_runs(tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "live.zpln",
        "%python\nimport sys, time\nprint('first', flush=True)\ntime.sleep(1.5)\n"
        "print('oops', file=sys.stderr)\n'done'",
        "%sh\necho shell",
        "%python\nraise KeyError('gone')",
    )
    seen = Seen()
    with Environment.start(EnvironmentSpec()) as env:
        env.run(note, on_output=seen.output, on_step_end=seen.end)
    first_at = next(at for at, o in seen.outputs if o.text == "first\n")
    end_at = seen.ends[0][0]
    assert end_at - first_at > 1.0  # it came before the paragraph ended, not with it
    assert seen.text(1, "stdout") == "first\n"
    assert seen.text(1, "stderr") == "oops\n"
    assert seen.text(1, "result") == "'done'\n"
    assert seen.text(2, "stdout") == "shell\n"
    assert "KeyError: 'gone'" in seen.text(3, "stderr")
    assert [(e.index, e.total, e.status) for _, e in seen.ends] == [
        (1, 3, "FINISHED"),
        (2, 3, "FINISHED"),
        (3, 3, "ERROR"),
    ]
    assert seen.ends[0][1].summary == "'done'"
    assert seen.ends[2][1].summary == "KeyError: 'gone'"


def test_a_notebooks_output_comes_while_its_cell_runs(tmp_path: Path) -> None:
    book = write_notebook(
        tmp_path / "live.ipynb",
        "import time\nprint('first', flush=True)\ntime.sleep(1.5)\n3 * 3",
        "raise KeyError('gone')",
    )
    seen = Seen()
    with Environment.start(EnvironmentSpec()) as env:
        env.run(book, on_output=seen.output, on_step_end=seen.end)
    first_at = next(at for at, o in seen.outputs if o.text == "first\n")
    assert seen.ends[0][0] - first_at > 1.0
    assert seen.text(1, "result") == "9\n"
    assert "KeyError: 'gone'" in seen.text(2, "stderr")
    assert [(e.index, e.total, e.status) for _, e in seen.ends] == [
        (1, 2, "FINISHED"),
        (2, 2, "ERROR"),
    ]
    assert seen.ends[1][1].summary == "KeyError: 'gone'"
