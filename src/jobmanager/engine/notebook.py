"""Jupyter notebooks as papermill leaves them: injected parameters, cell metadata, banners."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.corpus.words import generate_corpus_id as random_cell_id
from nbformat.validator import get_validator

from jobmanager.engine.note import NoteFormatError

PARAMETERS_TAG = "parameters"
RAISES_TAG = "raises-exception"  # nbclient lets such a cell fail and runs on
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
    """Read a notebook as papermill does: nbformat 3 or 4, upgraded to the latest nbformat
    4 minor version (cell ids from 4.5; a newer minor version stays as it is), without
    papermill error banners of an earlier run. A kernelspec that lacks its name gets the
    default kernel's (it runs on the environment's Python, as papermill's `-k python3`).

    NoteFormatError, saying what is wrong, for what nbformat cannot read, a structure its
    schema refuses (checked first: nbformat's reader fails on some with errors that say
    nothing) and a notebook in another language than Python (there is no other kernel)."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NoteFormatError(f"Not a Jupyter notebook: not JSON text ({exc})") from exc
    if not isinstance(document, dict):
        raise NoteFormatError("Not a Jupyter notebook: not a JSON object")
    _check_language(document.get("metadata"))
    _name_kernel(document)
    _give_cell_ids(document)
    major, minor = _version(document)
    try:
        nb: NotebookNode = nbformat.reads(json.dumps(document), as_version=4)
        if major == 4 and minor < nbformat.v4.nbformat_minor:
            nb = nbformat.v4.upgrade(nb)
    except Exception as exc:  # nbformat's converters fail in many ways
        raise NoteFormatError(f"nbformat cannot upgrade the notebook to version 4: {exc}") from exc
    nb.cells = [c for c in nb.cells if ERROR_MARKER_TAG not in _tags(c)]
    return nb


def _name_kernel(document: dict[str, Any]) -> None:
    metadata = document.get("metadata")
    kernelspec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    if isinstance(kernelspec, dict) and "name" not in kernelspec:
        kernelspec["name"] = DEFAULT_KERNEL
        kernelspec.setdefault("display_name", DEFAULT_KERNEL)


def _give_cell_ids(document: dict[str, Any]) -> None:
    """Cells of a 4.5+ notebook without the id its schema requires get one, as nbformat's
    reader gives them (without its warning)."""
    cells = document.get("cells")
    minor = document.get("nbformat_minor")
    if document.get("nbformat") != 4 or type(minor) is not int or minor < 5:
        return
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and "id" not in cell:
            cell["id"] = random_cell_id()


def _version(document: dict[str, Any]) -> tuple[int, int]:
    """The notebook's nbformat version, once its structure fits nbformat's schema for it
    (a newer minor version is checked as nbformat checks it: unknown fields allowed)."""
    major, minor = document.get("nbformat"), document.get("nbformat_minor", 0)
    if major not in (3, 4) or type(minor) is not int:
        raise NoteFormatError(f"Not a Jupyter notebook nbformat reads: nbformat {major!r}")
    validator = get_validator(major, minor, name="jsonschema")
    error = next(iter(validator.iter_errors(document)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the notebook"
        raise NoteFormatError(f"Not a valid Jupyter notebook: {where}: {error.message[:200]}")
    return major, minor


def _check_language(metadata: Any) -> None:
    """Only Python runs here: another language's notebook is refused, never run as Python
    (read before the engine names a nameless kernel)."""
    if not isinstance(metadata, dict):
        return  # the schema check says what is wrong
    kernelspec = metadata.get("kernelspec")
    info = metadata.get("language_info")
    kernelspec = kernelspec if isinstance(kernelspec, dict) else {}
    language = kernelspec.get("language") or (info.get("name") if isinstance(info, dict) else None)
    if isinstance(language, str) and language.strip().lower() not in ("", "python"):
        kernel = f"kernel {kernelspec['name']}" if kernelspec.get("name") else "kernel"
        raise NoteFormatError(
            f"The notebook's {kernel} runs {language}: this engine runs Python notebooks only"
        )


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


def finish_metadata(nb: NotebookNode, reached: int, banner_at: int | None) -> None:
    """End times; cells before index `reached` that are still pending (markdown) count
    as completed; papermill's banner goes on top and its anchor before the cell at index
    `banner_at` (see `papermill_error_cell`), if any."""
    meta = nb.metadata.papermill
    end = datetime.now(UTC)
    meta["end_time"] = end.isoformat()
    meta["duration"] = (end - datetime.fromisoformat(meta["start_time"])).total_seconds()
    meta["exception"] = any(c.metadata.papermill["status"] == "failed" for c in nb.cells)
    for cell in nb.cells[:reached]:
        if cell.metadata.papermill["status"] == "pending":
            cell.metadata.papermill["status"] = "completed"
    if banner_at is None:
        return
    count = nb.cells[banner_at].execution_count
    banner = nbformat.v4.new_markdown_cell(ERROR_MESSAGE.format(count=count))
    anchor = nbformat.v4.new_markdown_cell(ERROR_ANCHOR)
    for cell in (banner, anchor):
        cell.metadata["tags"] = [ERROR_MARKER_TAG]
    nb.cells.insert(banner_at, anchor)
    nb.cells.insert(0, banner)


def papermill_error_cell(nb: NotebookNode) -> int | None:
    """The index of the cell papermill's `raise_for_execution_errors` names: the last with
    an error output other than a clean `sys.exit` (its loop goes on after one), else the
    first whose metadata says it raised without such an output."""
    found = None
    for index, cell in enumerate(nb.cells):
        if error_summary(cell) is not None:
            found = index
        elif found is None and not exited(cell) and _raised(cell):
            return index
    return found


def _raised(cell: NotebookNode) -> bool:
    return cell.metadata.get("papermill", {}).get("exception") is True


def allows_errors(cell: NotebookNode) -> bool:
    return RAISES_TAG in _tags(cell)


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
