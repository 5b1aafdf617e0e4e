"""The notes of tests/fixtures/zeppelin run as Zeppelin runs them (issue 26): `z.show` of
pandas frames, `z.getInterpreterContext()`, IPython help.

The expected results are those of Zeppelin's Python `z`
(python/src/main/resources/python/zeppelin_context.py), its IPython bridge
(zeppelin-jupyter-interpreter/src/main/resources/grpc/jupyter/kernel_server.py and
JupyterKernelClient.java), `InterpreterOutput.write` (zeppelin-interpreter) and
Zeppelin's own test of them (python/src/test/java/.../BasePythonInterpreterTest.java).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from jobmanager.engine import Environment, Outcome
from tests.integration.engine.conftest import execute, results, write_note

pytestmark = pytest.mark.timeout(120)
NOTES = Path(__file__).resolve().parents[2] / "fixtures" / "zeppelin"


def run_fixture(env: Environment, name: str, tmp_path: Path) -> dict[str, object]:
    note = tmp_path / name
    shutil.copy(NOTES / name, note)
    result, executed = execute(env, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    return executed


def test_z_show_writes_pandas_frames_as_zeppelin_python_z_does(
    shared_env: Environment, tmp_path: Path
) -> None:
    """`show_dataframe` reads cells from `df.values` (an int and a float column make every
    cell a float), writes the index from `df.index.values` as an `%html` cell of the one
    TABLE (`InterpreterOutput.write`: in a TABLE, a line starts only after an empty line),
    and `show` takes any class with a DataFrame in its ancestry (`type(p).mro()`)."""
    executed = run_fixture(shared_env, "z-show_2KQ4ZSHW1.zpln", tmp_path)
    assert results(executed, 0) == [("TABLE", "sensor\tload\n1.0\t0.5\n2.0\t0.75\n3.0\t1.25\n")]
    # BasePythonInterpreterTest, "z.show(df, show_index=True)"
    assert results(executed, 1) == [
        (
            "TABLE",
            "\tid\tsite\n"
            "%html <strong>0</strong>\t1\tnorth\n"
            "%html <strong>1</strong>\t2\tsouth\n"
            "%html <strong>2</strong>\t3\teast\n",
        )
    ]
    # BasePythonInterpreterTest, "index is timestamp": numpy's text of the index values
    # (nanoseconds with the pandas of that test; the resolution pandas gives the index).
    days = [str(day) for day in pd.date_range("20240530", periods=3, freq="D").values]
    assert days[0].startswith("2024-05-30T00:00:00.000000")
    cells = zip(days, "abc", strict=True)
    rows = "".join(f"%html <strong>{day}</strong>\t{crew}\n" for day, crew in cells)
    assert results(executed, 2) == [("TABLE", "\tcrew\n" + rows)]
    # BasePythonInterpreterTest, "Pandas DataFrame with sub type"
    assert results(executed, 3) == [("TABLE", "id\tnote\n1\ttab here\n2\tline break\n")]


def test_get_interpreter_context_tells_the_paragraph_about_itself(
    shared_env: Environment, tmp_path: Path
) -> None:
    """`z.getInterpreterContext()` gives what `Paragraph.getInterpreterContext` puts in an
    `InterpreterContext` (note, paragraph, repl, local properties, user), and its `out()`
    clears the paragraph's output (BasePythonInterpreterTest, "clear output")."""
    executed = run_fixture(shared_env, "interpreter-context_2KQ4ZCTX2.zpln", tmp_path)
    assert results(executed, 0) == [
        (
            "TEXT",
            "2KQ4ZCTX2 interpreter context paragraph_1717059600001_1001 python\n"
            "Where am I anonymous\n"
            "25 True batch\n",
        )
    ]
    assert results(executed, 1) == [("TEXT", "world\n")]


def test_ipython_help_follows_the_paragraphs_output_in_its_text_with_colours(
    shared_env: Environment, tmp_path: Path
) -> None:
    """kernel_server.py sends the pager payloads of the execute reply (help) after every
    other output, joined by newlines; JupyterKernelClient writes that text into the
    current TEXT message. IPython's help keeps its ANSI colours, as in Zeppelin's shipped
    "IPython Basic" note."""
    executed = run_fixture(shared_env, "ipython-help_2KQ4ZHLP3.zpln", tmp_path)
    [(kind, text)] = results(executed, 0)
    assert kind == "TEXT"
    timing, help_text = text.split("\n", 1)
    assert timing.endswith("per loop (mean ± std. dev. of 2 runs, 10 loops each)")
    assert help_text.startswith("\x1b[31mInit signature:\x1b[39m range(")
    assert "Return an object that produces a sequence of integers" in help_text


def test_a_print_after_z_show_stays_in_its_table_as_in_zeppelin(
    shared_env: Environment, tmp_path: Path
) -> None:
    """`show_dataframe` prints the table with one newline after it, so Zeppelin keeps
    what follows in the TABLE unless an empty line and a directive end it
    (`InterpreterOutput.write`). (When the kernel sends the print apart, JupyterKernelClient
    puts `%text ` before it, which lands in the table too.)"""
    note = write_note(
        tmp_path / "n.zpln",
        "import pandas as pd\nz.show(pd.DataFrame({'a': [1]}))\nprint('x')",
        "import pandas as pd\nz.show(pd.DataFrame({'a': [1]}))\nprint('\\n%text after')",
    )
    _, executed = execute(shared_env, note)
    [(kind, table)] = results(executed, 0)
    assert kind == "TABLE"
    assert table in ("a\n1\nx\n", "a\n1\n%text x\n")
    assert results(executed, 1) == [("TABLE", "a\n1\n"), ("TEXT", "after\n")]


def test_nan_and_infinities_reach_a_notes_forms(shared_env: Environment, tmp_path: Path) -> None:
    """`run-note --param limit=nan` and a job's NaN parameter give `z.textbox` the float,
    as papermill's `-p limit nan` gives a notebook (issue 26, item 9)."""
    note = write_note(
        tmp_path / "n.zpln",
        "print(z.textbox('limit', '1'), z.textbox('ceiling', '1'), z.textbox('floor', '1'))",
    )
    parameters = {"limit": math.nan, "ceiling": math.inf, "floor": -math.inf}
    result, executed = execute(shared_env, note, parameters=parameters)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert results(executed, 0) == [("TEXT", "nan inf -inf\n")]
