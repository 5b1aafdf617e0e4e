"""Notes and notebooks executed by the engine, then rendered as the console shows them."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from jobmanager.console.render import render_jupyter_notebook, render_zeppelin_note
from jobmanager.engine import Environment
from jobmanager.engine.jupyter import run_notebook
from tests.html_fragments import Element, active_content, parse, table_cells
from tests.integration.engine.conftest import FIXTURES, execute, write_note

pytestmark = pytest.mark.timeout(120)


def rendered_run(env: Environment, note: Path) -> Element:
    """Run `note` in `env`, render the executed note, check nothing in it can run here."""
    result, _ = execute(env, note)
    root = parse(render_zeppelin_note(result.executed_path.read_bytes()))
    assert active_content(root) == []
    return root


def test_the_shared_fixture_executed_here_renders_its_results(
    shared_env: Environment, tmp_path: Path
) -> None:
    note = shutil.copy(FIXTURES / "fixture_input.zpln", tmp_path / "daily_report.zpln")
    root = rendered_run(shared_env, Path(note))
    sections = root.with_class("paragraph")
    statuses = [s.with_class("paragraph-status")[0].text for s in sections]
    assert statuses == ["FINISHED", "FINISHED", "FINISHED", "ERROR", "FINISHED"]
    frame = parse(sections[0].iter("iframe")[0].attrs["srcdoc"])
    assert frame.iter("h1")[0].text == "Daily report"
    assert [p.text for p in sections[1].with_class("result-text")] == ["hello world\n"]
    assert table_cells(sections[1].iter("table")[0]) == [["n", "sq"], ["1", "1"], ["2", "4"]]
    assert sections[2].with_class("result-text")[0].text == "running on Linux\n"
    assert "ExitValue: 3" in sections[3].with_class("paragraph-results")[0].text


def test_plots_html_and_failures_of_a_python_note(shared_env: Environment, tmp_path: Path) -> None:
    plots = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"
    framed_html = (
        "print('%html <p id=\"x\">made by <b>html</b></p><script>parent.alert(1)</script>')"
    )
    failing = "raise ValueError('<b>bad</b> input')"
    root = rendered_run(
        shared_env, write_note(tmp_path / "plots.zpln", plots, framed_html, failing)
    )
    plot, html, failed = root.with_class("paragraph")
    assert plot.iter("img")[0].attrs["src"].startswith("data:image/png;base64,iVBOR")
    framed = parse(html.iter("iframe")[0].attrs["srcdoc"])
    assert framed.iter("b")[0].text == "html"
    assert failed.with_class("paragraph-status")[0].text == "ERROR"
    assert "ValueError: <b>bad</b> input" in failed.with_class("paragraph-results")[0].text


def test_an_executed_notebook_renders_its_outputs(shared_env: Environment, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Sensor report"),
        nbformat.v4.new_code_cell("print('rows:', 3)"),
        nbformat.v4.new_code_cell(
            "from IPython.display import HTML, display\n"
            "display(HTML('<i>styled</i><script>x()</script>'))"
        ),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"),
        nbformat.v4.new_code_cell("1 / 0"),
    ]
    path = tmp_path / "report.ipynb"
    nbformat.write(nb, path)
    result = run_notebook(shared_env, path, tmp_path / "out.ipynb")
    root = parse(render_jupyter_notebook(result.executed_path.read_bytes()))
    assert active_content(root) == []
    assert root.with_class("notebook-summary")[0].text.endswith("1 with an error")
    document = parse(root.iter("iframe")[0].attrs["srcdoc"])
    assert document.iter("h1")[0].text.startswith("Sensor report")
    assert "rows: 3\n" in [pre.text for pre in document.iter("pre")]
    assert document.iter("i")[0].text == "styled"
    assert any(img.attrs["src"].startswith("data:image/png") for img in document.iter("img"))
    assert "ZeroDivisionError" in document.with_class("output_error")[0].text
