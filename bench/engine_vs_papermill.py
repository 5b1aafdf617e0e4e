"""Engine latency against papermill: prints figures (not a test).

1. A 3-paragraph note (md + python + sh) run cold end to end (environment start, run,
   teardown), against papermill on the equivalent notebook; and the same note on a
   pre-started (warm pool) environment, as the jobs layer runs it.
2. Per-paragraph overhead on a 100-paragraph note, against papermill on 100 cells.

Usage: .venv/bin/python bench/engine_vs_papermill.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import papermill

from jobmanager.engine import Environment, Outcome

MD = "# Report\nSome **bold** text."
PY = "import math\nprint(math.sqrt(16))"
SH = "echo hello from $(uname -s)"


def _note(path: Path, texts: list[str]) -> Path:
    paragraphs = [
        {
            "text": t,
            "config": {},
            "settings": {"params": {}, "forms": {}},
            "id": f"p{i}",
            "status": "READY",
        }
        for i, t in enumerate(texts)
    ]
    path.write_text(
        json.dumps(
            {"paragraphs": paragraphs, "defaultInterpreterGroup": "python", "version": "0.11.2"}
        )
    )
    return path


def _notebook(path: Path, cells: list[nbformat.NotebookNode]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = cells
    nbformat.write(nb, path)
    return path


def _timed(action: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` runs of `action`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _engine_cold(note: Path) -> None:
    with Environment.start() as env:
        assert env.run(note).outcome is Outcome.SUCCEEDED


def _engine_warm(note: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with Environment.start() as env:  # started ahead of time: not measured
            start = time.perf_counter()
            assert env.run(note).outcome is Outcome.SUCCEEDED
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _papermill(notebook: Path, out: Path) -> None:
    papermill.execute_notebook(str(notebook), str(out), progress_bar=False, log_output=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    work = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    note = _note(work / "three.zpln", [f"%md\n{MD}", f"%python\n{PY}", f"%sh\n{SH}"])
    three = _notebook(
        work / "three.ipynb",
        [
            nbformat.v4.new_markdown_cell(MD),
            nbformat.v4.new_code_cell(PY),
            nbformat.v4.new_code_cell(f"%%bash\n{SH}"),
        ],
    )
    _papermill(three, work / "warmup.ipynb")  # first imports out of the measurement
    engine_cold = _timed(lambda: _engine_cold(note), repeat)
    engine_warm = _engine_warm(note, repeat)
    pm_cold = _timed(lambda: _papermill(three, work / "out.ipynb"), repeat)
    print(f"3 paragraphs, cold, end to end (median of {repeat}):")
    print(f"  engine    {engine_cold * 1000:8.0f} ms")
    print(
        f"  papermill {pm_cold * 1000:8.0f} ms   ratio engine/papermill {engine_cold / pm_cold:.2f}"
    )
    print(
        f"  engine on a warm environment (submit -> finished): {engine_warm * 1000:.0f} ms"
        f"   ratio to papermill {engine_warm / pm_cold:.2f}"
    )

    hundred = _note(work / "hundred.zpln", [f"%python\nx{i} = {i}" for i in range(100)])
    cells = [nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(100)]
    hundred_nb = _notebook(work / "hundred.ipynb", cells)
    engine_100 = _engine_warm(hundred, repeat)
    pm_100 = _timed(lambda: _papermill(hundred_nb, work / "out100.ipynb"), repeat)
    print("100 python paragraphs:")
    print(f"  engine (warm) {engine_100 * 1000:8.0f} ms  = {engine_100 * 10:.2f} ms per paragraph")
    print(f"  papermill     {pm_100 * 1000:8.0f} ms  = {pm_100 * 10:.2f} ms per cell (incl. start)")


if __name__ == "__main__":
    main()
