"""Jupyter notebooks as the console shows them (console/render/jupyter.py), via nbconvert."""

from __future__ import annotations

import nbformat

from jobmanager.console.render import render_jupyter_notebook
from tests.html_fragments import Element, active_content, parse

HOSTILE = "<script>alert(1)</script>"


def notebook(*cells: nbformat.NotebookNode) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return str(nbformat.writes(nb)).encode()


def framed(html: str) -> tuple[Element, Element]:
    """The page's part and the frame's document."""
    root = parse(html)
    [frame] = root.iter("iframe")
    assert frame.attrs["sandbox"] == "allow-same-origin"
    return root, parse(frame.attrs["srcdoc"])


def test_cells_prompts_and_outputs_as_nbconvert_shows_them() -> None:
    code = nbformat.v4.new_code_cell("print('hi')", execution_count=1)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    failed = nbformat.v4.new_code_cell("1/0", execution_count=2)
    failed.outputs = [
        nbformat.v4.new_output(
            "error",
            ename="ZeroDivisionError",
            evalue="division by zero",
            traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"],
        )
    ]
    root, document = framed(
        render_jupyter_notebook(notebook(nbformat.v4.new_markdown_cell("# Report"), code, failed))
    )
    summary = root.with_class("notebook-summary")[0].text
    assert summary == "2 code cells, 1 markdown cell, 1 with an error"
    assert document.iter("h1")[0].text.startswith("Report")
    prompts = [p.text.strip() for p in document.with_class("input_prompt")]
    assert "In\xa0[1]:" in prompts or "In [1]:" in prompts
    assert "hi\n" in [p.text for p in document.with_class("output_stdout")[0].iter("pre")]
    assert "ZeroDivisionError: division by zero" in document.with_class("output_error")[0].text
    assert "highlight" in document.iter("style")[0].text  # code colours travel with it


def test_active_content_stays_in_the_frame() -> None:
    shown = nbformat.v4.new_code_cell("display(...)", execution_count=1)
    shown.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": f"{HOSTILE}<b>bold</b>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(2)"}),
    ]
    html = render_jupyter_notebook(notebook(nbformat.v4.new_markdown_cell(HOSTILE), shown))
    root, document = framed(html)
    assert active_content(root) == []
    assert document.iter("b")[0].text == "bold"


def test_files_that_are_no_notebook_say_so() -> None:
    assert parse(render_jupyter_notebook(b"{")).text == (
        "This file cannot be shown as a Jupyter notebook (NotJSONError)."
    )
    assert parse(render_jupyter_notebook(b"\xff")).text.startswith("This file cannot be shown")
    assert parse(render_jupyter_notebook(b'{"cells": 1}')).text.startswith("This file cannot")
