"""An executed Jupyter notebook as Jupyter shows it, through nbconvert's HTML exporter.

The `basic` template gives the cells without a page around them; their markdown and rich
outputs (HTML, JavaScript, SVG) are the notebook author's, so the whole notebook is
shown in a sandboxed frame (`markup.sandboxed_frame`) with a style sheet of its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING

import nbformat
from pygments.formatters import HtmlFormatter

if TYPE_CHECKING:  # nbconvert loads on the first notebook shown: not at every start-up
    from nbconvert import HTMLExporter

from jobmanager.console.render.markup import counted, notice, sandboxed_frame, text

_NOTEBOOK_STYLE = """
.cell { margin: 0 0 0.75rem; }
.input, .output_area { display: flex; gap: 0.5rem; }
.prompt { flex: 0 0 5.5em; text-align: right; font: 12px/2 ui-monospace, monospace;
  color: #303f9f; }
.output_area .prompt { color: #bf360c; }
.inner_cell, .output_subarea { flex: 1; min-width: 0; }
.input_area { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 3px;
  padding: 0.3rem 0.5rem; overflow-x: auto; }
.input_area pre, .output_subarea pre { font: 13px/1.4 ui-monospace, monospace; margin: 0;
  white-space: pre-wrap; }
.output_subarea { padding: 0.3rem 0; overflow-x: auto; }
.output_stderr { background: #fff5f5; }
.output_error pre { color: #82071e; }
.anchor-link { display: none; }
@media (max-width: 600px) { .prompt { display: none; } }
"""


@cache
def _style() -> str:
    """The notebook's style: layout, then the code colours nbconvert's markup names."""
    return _NOTEBOOK_STYLE + str(HtmlFormatter(style="default").get_style_defs(".highlight"))


@cache
def _exporter() -> HTMLExporter:
    """One exporter per process: building one loads its templates (a good part of a second)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic")


_EXPORT_LOCK = threading.Lock()  # an exporter keeps state while it converts


def render_jupyter_notebook(ipynb: bytes) -> str:
    """The notebook's cells and outputs as an HTML fragment; a notice when it is no notebook."""
    try:
        notebook = nbformat.reads(ipynb.decode("utf-8"), as_version=4)
        with _EXPORT_LOCK:
            body, _ = _exporter().from_notebook_node(notebook)
    # A malformed notebook fails anywhere in nbformat or nbconvert, with errors of every
    # kind; whatever the reason, the file is not shown and the page says so.
    except Exception as error:
        return notice(f"This file cannot be shown as a Jupyter notebook ({type(error).__name__}).")
    return (
        f'<article class="jupyter-notebook"><p class="notebook-summary">'
        f"{text(_summary(notebook))}</p>"
        f"{sandboxed_frame(body, 'The executed notebook', _style(), 'notebook-frame')}</article>"
    )


def _summary(notebook: nbformat.NotebookNode) -> str:
    """`5 code cells, 1 markdown cell, 1 with an error`: code cells counted as the job's
    message counts them ("All 5 cells ran"), the others by their kind."""
    cells = notebook.get("cells", [])
    kinds = Counter(str(cell.get("cell_type", "")) for cell in cells)
    parts = [counted(kinds.pop("code", 0), "code cell")]
    parts += [counted(number, f"{kind} cell") for kind, number in sorted(kinds.items())]
    failed = sum(
        1
        for cell in cells
        if any(output.get("output_type") == "error" for output in cell.get("outputs", []))
    )
    return ", ".join(parts) + (f", {failed} with an error" if failed else "")
