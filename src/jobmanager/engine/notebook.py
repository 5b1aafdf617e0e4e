"""Jupyter notebooks as papermill leaves them: injected parameters, cell metadata, banners."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from jobmanager.engine.note import NoteFormatError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
ERROR_MARKER_TAG = "papermill-error-cell-tag"
DEFAULT_KERNEL = "python3"
_ERROR_STYLE = (
    'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"'
)
ERROR_MESSAGE = (
    f"<span {_ERROR_STYLE}>An Exception was encountered at "
    "'<a href=\"#papermill-error-cell\">In [{count}]</a>'.</span>"
)
ERROR_ANCHOR = (
    f'<span id="papermill-error-cell" {_ERROR_STYLE}>'
    "Execution using papermill encountered an exception here and stopped:</span>"
)


def load(path: Path) -> NotebookNode:
    """Read a notebook as papermill does: upgraded to the latest nbformat 4 minor version
    (cell ids from 4.5), without papermill error banners of an earlier run; a kernelspec
    that lacks its name gets the default kernel's."""
    try:
        read = nbformat.read(path, as_version=4)
        nb: NotebookNode = nbformat.v4.upgrade(read)
        kernelspec = nb.metadata.get("kernelspec")
        if isinstance(kernelspec, dict) and "name" not in kernelspec:
            kernelspec["name"] = DEFAULT_KERNEL
            kernelspec.setdefault("display_name", DEFAULT_KERNEL)
        nbformat.validate(nb)
    except (ValueError, nbformat.ValidationError) as exc:
        raise NoteFormatError(f"Not a valid Jupyter notebook: {exc}") from exc
    nb.cells = [c for c in nb.cells if ERROR_MARKER_TAG not in _tags(c)]
    return nb


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _tags(cell: NotebookNode) -> list[str]:
    tags: list[str] = cell.get("metadata", {}).get("tags", [])
    return tags


def literal(value: Any) -> str:
    """A JSON value as papermill's Python translator writes it (strings double-quoted)."""
    if isinstance(value, str):
        escaped = value.encode("unicode_escape").decode("utf-8").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    return repr(value)


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, Any]) -> None:
    """Add (or replace) the cell tagged `injected-parameters`, as papermill does: after
    the cell tagged `parameters`, else first."""
    if not parameters:
        return
    source = "# Parameters\n" + "".join(f"{k} = {literal(v)}\n" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED_TAG]
    for index, existing in enumerate(nb.cells):
        if INJECTED_TAG in _tags(existing):
            nb.cells[index] = cell
            return
    after = next((i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in _tags(c)), -1)
    nb.cells.insert(after + 1, cell)
    nb.metadata.setdefault("papermill", {})["parameters"] = dict(parameters)


def first_run(nb: NotebookNode, replay_before: int) -> int:
    """The index of the first cell a run executes for good: the cell of code cell number
    `replay_before` (the cells before it are only replayed), 0 without a replay."""
    if replay_before <= 1:
        return 0
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    return code[replay_before - 1] if replay_before <= len(code) else len(nb.cells)


def init_metadata(nb: NotebookNode, input_path: str, output_path: str, keep: int = 0) -> None:
    """papermill's notebook and cell metadata before a run: every cell pending, except
    the first `keep` cells, which keep their outputs and metadata (a repair's replay)."""
    meta = nb.metadata.setdefault("papermill", {})
    meta.setdefault("parameters", {})
    meta.update(
        input_path=input_path,
        output_path=output_path,
        start_time=now_iso(),
        end_time=None,
        duration=None,
        exception=None,
    )
    for index, cell in enumerate(nb.cells):
        if index < keep and "papermill" in cell.metadata:
            continue
        cell.metadata["papermill"] = {
            "exception": None,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "status": "pending",
        }
        if cell.cell_type == "code" and index >= keep:
            cell.execution_count = None
            cell.outputs = []


def cell_started(cell: NotebookNode) -> None:
    cell.metadata.papermill.update(start_time=now_iso(), status="running", exception=False)


def cell_finished(cell: NotebookNode, failed: bool) -> None:
    meta = cell.metadata.papermill
    end = datetime.now(UTC)
    meta["end_time"] = end.isoformat()
    if meta.get("start_time"):
        meta["duration"] = (end - datetime.fromisoformat(meta["start_time"])).total_seconds()
    meta["status"] = "failed" if failed else "completed"
    meta["exception"] = failed


def finish_metadata(nb: NotebookNode, reached: int, stopped_at_error: int | None) -> None:
    """End times; cells before index `reached` that are still pending (markdown) count
    as completed; if the run stopped at the error of cell `stopped_at_error`, papermill's
    banner goes on top and its anchor before that cell."""
    meta = nb.metadata.papermill
    end = datetime.now(UTC)
    meta["end_time"] = end.isoformat()
    meta["duration"] = (end - datetime.fromisoformat(meta["start_time"])).total_seconds()
    meta["exception"] = any(c.metadata.papermill["status"] == "failed" for c in nb.cells)
    for cell in nb.cells[:reached]:
        if cell.metadata.papermill["status"] == "pending":
            cell.metadata.papermill["status"] = "completed"
    if stopped_at_error is None:
        return
    count = nb.cells[stopped_at_error].execution_count
    banner = nbformat.v4.new_markdown_cell(ERROR_MESSAGE.format(count=count))
    anchor = nbformat.v4.new_markdown_cell(ERROR_ANCHOR)
    for cell in (banner, anchor):
        cell.metadata["tags"] = [ERROR_MARKER_TAG]
    nb.cells.insert(stopped_at_error, anchor)
    nb.cells.insert(0, banner)


def exited(cell: NotebookNode) -> bool:
    """Whether the cell raised `SystemExit` (`sys.exit()`)."""
    return any(o.get("ename") == "SystemExit" for o in cell.get("outputs", []))


def error_summary(cell: NotebookNode) -> str | None:
    """`ename: evalue` of a cell's error output (a clean `sys.exit(0)` is no error)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        if output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0"):
            continue
        return f"{output.get('ename')}: {output.get('evalue')}"
    return None
