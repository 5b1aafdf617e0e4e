"""Each interpreter on a real kernel, sharing one environment."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from jobmanager.engine import Environment, EnvironmentSpec, Outcome
from tests.integration.engine.conftest import FIXTURES, execute, paragraph, results, write_note

pytestmark = pytest.mark.timeout(60)
TIMESTAMPS = ("dateStarted", "dateFinished")


def test_fixture_matches_zeppelin_field_by_field(shared_env: Environment, tmp_path: Path) -> None:
    note = tmp_path / "daily_report.zpln"
    note.write_bytes((FIXTURES / "fixture_input.zpln").read_bytes())
    result, executed = execute(shared_env, note)
    expected = json.loads((FIXTURES / "fixture_expected.zpln").read_text())
    # Zeppelin stops at the failing %sh; this engine goes on, so the blank one is FINISHED.
    expected["paragraphs"][-1]["status"] = "FINISHED"
    assert list(executed) == list(expected)
    for ours, theirs in zip(executed["paragraphs"], expected["paragraphs"], strict=True):
        assert list(ours) == list(theirs)
        for key in theirs:
            if key not in TIMESTAMPS:
                assert ours[key] == theirs[key], key
    assert {k: v for k, v in executed.items() if k != "paragraphs"} == {
        k: v for k, v in expected.items() if k != "paragraphs"
    }
    assert result.outcome is Outcome.FAILED
    assert result.message == "Paragraph 4 of 5 failed: ExitValue: 3"


def test_python_state_is_shared_across_prefixes(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln", "%python\na = 20", "%python.ipython\nb = a + 1", "print(a + b)"
    )
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.SUCCEEDED
    assert results(executed, 2) == [("TEXT", "41\n")]
    assert [p["status"] for p in executed["paragraphs"]] == ["FINISHED"] * 3


def test_last_expression_and_html_display(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "6 * 7",
        "from IPython.display import HTML, display\n"
        "display(HTML('<b>x</b>'))\n"
        "print('%html <i>y</i>')",
    )
    _, executed = execute(shared_env, note)
    assert results(executed, 0) == [("TEXT", "42")]
    assert results(executed, 1) == [("HTML", "<b>x</b>"), ("HTML", "<i>y</i>\n")]


def test_syntax_error_fails_its_paragraph_and_the_run_goes_on(
    shared_env: Environment, tmp_path: Path
) -> None:
    note = write_note(tmp_path / "n.zpln", "def broken(:\n  pass", "print('after')")
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.FAILED
    assert "Paragraph 1 of 2 failed" in result.message
    assert executed["paragraphs"][0]["status"] == "ERROR"
    assert executed["paragraphs"][0]["results"]["code"] == "ERROR"
    assert "SyntaxError" in results(executed, 0)[0][1]
    assert "\x1b[" not in results(executed, 0)[0][1]
    assert executed["paragraphs"][1]["status"] == "FINISHED"


def test_exception_is_reported_with_its_traceback(shared_env: Environment, tmp_path: Path) -> None:
    """The traceback joins the paragraph's text so far, as Zeppelin's `JupyterKernelClient`
    writes an error (a TEXT output) into the current TEXT message."""
    note = write_note(tmp_path / "n.zpln", "print('partial')\n1 / 0", "%python\n1 / 0")
    result, executed = execute(shared_env, note)
    assert result.message.startswith("Paragraph 1 of 2 failed: ZeroDivisionError")
    assert "(paragraphs 2 failed too)" in result.message
    [(kind, text)] = results(executed, 0)
    assert kind == "TEXT"
    assert text.startswith("partial\n---")
    assert "ZeroDivisionError" in text


def test_folders_are_variables_environment_and_z(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "import os\nprint(inputFolder == os.environ['inputFolder'] == z.get('inputFolder'))\n"
        "print(outputFolder == os.environ['outputFolder'] == z.get('outputFolder'))\n"
        "print(os.getcwd())",
        "%sh\necho $inputFolder; pwd",
    )
    _, executed = execute(shared_env, note)
    cwd = str(shared_env.input_dir)  # the working directory holds the input files
    assert results(executed, 0) == [("TEXT", f"True\nTrue\n{cwd}\n")]
    assert results(executed, 1) == [("TEXT", f"{cwd}\n{cwd}\n")]


def test_input_does_not_hang(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "input('name? ')")
    result, executed = execute(shared_env, note)
    assert executed["paragraphs"][0]["status"] == "ERROR"
    assert "StdinNotImplementedError" in result.message


def test_markdown_with_forms_and_parameters(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%md Hello **${who=world}** in ${place=Paris}")
    _, executed = execute(shared_env, note, parameters={"who": "you"})
    assert results(executed, 0) == [
        (
            "HTML",
            '<div class="markdown-body">\n<p>Hello <strong>you</strong> in Paris</p>\n\n</div>',
        )
    ]
    settings = executed["paragraphs"][0]["settings"]
    assert settings["params"] == {}  # job parameters are not kept in the note, as in Zeppelin
    assert list(settings["forms"]) == ["who", "place"]


def test_z_forms_take_job_parameters(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "print(z.textbox('n', '1'), z.select('c', [('a', 'A'), ('b', 'B')], 'a'),"
        " z.checkbox('k', ['x', 'y']), z.password('pw'))",
    )
    _, executed = execute(shared_env, note, parameters={"n": "5", "c": "b"})
    assert results(executed, 0) == [("TEXT", "5 b [] None\n")]
    forms = executed["paragraphs"][0]["settings"]["forms"]
    assert forms["c"] == {
        "type": "Select",
        "options": [{"value": "a", "displayName": "A"}, {"value": "b", "displayName": "B"}],
        "name": "c",
        "displayName": "c",
        "defaultValue": "a",
        "hidden": False,
    }
    assert [f["type"] for f in forms.values()] == ["TextBox", "Select", "CheckBox", "Password"]


def test_shell_forms_only_with_form_simple(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%sh(form=simple)\necho ${n=3}", "%sh\necho '${n=3}'")
    _, executed = execute(shared_env, note)
    assert results(executed, 0) == [("TEXT", "3\n")]
    assert results(executed, 1) == [("TEXT", "${n=3}\n")]


def test_shell_stderr_and_directives(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%sh\necho out; echo err >&2; echo '%html <p>h</p>'")
    _, executed = execute(shared_env, note)
    assert results(executed, 0) == [("TEXT", "out\nerr\n"), ("HTML", "<p>h</p>\n")]


@pytest.mark.parametrize("prefix", ["%python.sql", "%sql"])
def test_sql_over_dataframes(shared_env: Environment, tmp_path: Path, prefix: str) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "import pandas as pd\n"
        "people = pd.DataFrame({'name': ['a', 'b', 'c'], 'age': [30, 40, 50]})",
        f"{prefix}\nselect name, age from people where age > ${{min=35}} order by age",
    )
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert results(executed, 1) == [("TABLE", "name\tage\nb\t40\nc\t50\n")]


def test_sql_error_fails_the_paragraph(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%python.sql\nselect * from no_such_table")
    result, _ = execute(shared_env, note)
    assert result.outcome is Outcome.FAILED
    assert "no such table" in result.message


def test_pyspark_without_pyspark_fails_with_a_clear_message(
    shared_env: Environment, tmp_path: Path
) -> None:
    if shared_env.has_module("pyspark"):
        pytest.skip("pyspark is installed here")
    note = write_note(tmp_path / "n.zpln", "%pyspark\nprint(1)", "%spark.sql select 1", "print(2)")
    result, executed = execute(shared_env, note)
    assert results(executed, 0) == [
        ("TEXT", "Zeppelin's spark.pyspark interpreter needs pyspark, which is not installed here")
    ]
    assert executed["paragraphs"][1]["status"] == "ERROR"
    assert executed["paragraphs"][2]["status"] == "FINISHED"
    assert result.outcome is Outcome.FAILED


def test_unsupported_interpreter(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%jdbc\nselect 1")
    result, executed = execute(shared_env, note)
    message = (
        "Interpreter jdbc is not supported: "
        "the paragraph needs Zeppelin's jdbc.jdbc interpreter (SQL over JDBC)"
    )
    assert results(executed, 0) == [("TEXT", message)]
    assert result.message == f"Paragraph 1 of 1 failed: {message}"


def test_disabled_paragraph_is_skipped_untouched(shared_env: Environment, tmp_path: Path) -> None:
    disabled = paragraph("print('no')", config={"enabled": False}, status="READY")
    note = write_note(tmp_path / "n.zpln", disabled, "%sh\n", "%md")
    result, executed = execute(shared_env, note)
    assert "results" not in executed["paragraphs"][0]
    assert executed["paragraphs"][0]["status"] == "READY"
    assert [p["status"] for p in executed["paragraphs"][1:]] == ["FINISHED", "FINISHED"]
    assert result.outcome is Outcome.SUCCEEDED


def test_progress_reports_each_paragraph(shared_env: Environment, tmp_path: Path) -> None:
    titled = paragraph("%md x", title="Intro")
    note = write_note(tmp_path / "n.zpln", titled, "\n\nprint(1)  # go")
    seen: list[str] = []
    execute(shared_env, note, on_progress=lambda p: seen.append(str(p)))
    assert seen == ["1 of 2: Intro", "2 of 2: print(1)  # go"]


def test_matplotlib_figure_is_an_image(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.title('t')\nprint('drawn')",
    )
    _, executed = execute(shared_env, note)
    kinds = [kind for kind, _ in results(executed, 0)]
    assert kinds == ["TEXT", "IMG"]
    image = results(executed, 0)[1][1]
    assert image.startswith("iVBORw0KGgo")  # a base64 PNG, no data: prefix


def test_z_show_caps_at_1000_rows(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "import pandas as pd\nz.show(pd.DataFrame({'i': range(10000), 's': ['a\\tb'] * 10000}))",
    )
    _, executed = execute(shared_env, note)
    (table_type, table), (notice_type, notice) = results(executed, 0)
    lines = table.splitlines()
    assert (table_type, notice_type) == ("TABLE", "HTML")
    assert len(lines) == 1001
    assert lines[:2] == ["i\ts", "0\ta b"]
    assert notice == "<font color=red>Results are limited by 1000.</font>\n"


def test_put_and_get(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "z.put('k', {'a': 1})", "print(z.get('k'))")
    _, executed = execute(shared_env, note)
    assert results(executed, 1) == [("TEXT", "{'a': 1}\n")]


def test_each_paragraph_gets_its_own_form_defaults(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "print(z.textbox('n', '1'))",
        "print(z.textbox('n', '2'))",
        "print(z.textbox('n', '3'))",
    )
    _, executed = execute(shared_env, note)
    assert [results(executed, i) for i in range(3)] == [
        [("TEXT", "1\n")],
        [("TEXT", "2\n")],
        [("TEXT", "3\n")],
    ]


def test_service_settings_and_credentials_do_not_leak(tmp_path: Path) -> None:
    os.environ["JOBMANAGER_SECRET_FOR_TEST"] = "s3cr3t"
    try:
        spec = EnvironmentSpec(env_vars={"FROM_CONFIGURATION": "yes"})
        with Environment.start(spec) as env:
            note = write_note(
                tmp_path / "n.zpln",
                "%sh\necho ${JOBMANAGER_SECRET_FOR_TEST:-none} $FROM_CONFIGURATION; which python",
            )
            _, executed = execute(env, note)
    finally:
        del os.environ["JOBMANAGER_SECRET_FOR_TEST"]
    python_bin = Path(sys.executable).parent
    assert results(executed, 0) == [("TEXT", f"none yes\n{python_bin}/python\n")]


def test_note_scope_forms(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%md Region: $${region=eu}")
    _, executed = execute(shared_env, note, parameters={"region": "us"})
    assert "Region: us" in results(executed, 0)[0][1]
    assert executed["noteParams"] == {}
    assert executed["noteForms"]["region"]["defaultValue"] == "eu"
    assert executed["paragraphs"][0]["settings"]["forms"] == {}


def test_shell_killed_by_a_signal_reports_as_a_shell_does(
    shared_env: Environment, tmp_path: Path
) -> None:
    note = write_note(tmp_path / "n.zpln", "%sh\necho going\nkill -9 $$")
    _, executed = execute(shared_env, note)
    assert results(executed, 0) == [("TEXT", "going\n"), ("TEXT", "ExitValue: 137")]
