"""Notes run as Zeppelin runs them (issue 14): markdown, interpreters, `z`, the saved file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobmanager.engine import Environment, Outcome
from tests.integration.engine.conftest import execute, paragraph, results, write_note

pytestmark = pytest.mark.timeout(60)


def test_markdown_renders_as_zeppelin_flexmark(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        '%md\n## Zeppelin\'s "tutorial"\nSee http://zeppelin.apache.org -- or ~~not~~.\nNext line',
    )
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.SUCCEEDED
    assert results(executed, 0) == [
        (
            "HTML",
            '<div class="markdown-body">\n'
            "<h2>Zeppelin&rsquo;s &ldquo;tutorial&rdquo;</h2>\n"
            '<p>See <a href="http://zeppelin.apache.org">http://zeppelin.apache.org</a> &ndash; '
            "or <del>not</del>.<br />\nNext line</p>\n\n</div>",
        )
    ]


def legacy_paragraph(text: str) -> dict[str, Any]:
    """A paragraph as Zeppelin 0.7 wrote it into a note.json."""
    return {
        "text": text,
        "dateUpdated": "Dec 17, 2016 3:32:15 PM",
        "config": {"enabled": True, "results": []},
        "settings": {"params": {}, "forms": {}},
        "jobName": "paragraph_1481988735_1",
        "id": "20161217-153215_1",
        "dateCreated": "Dec 17, 2016 3:32:15 PM",
        "status": "READY",
    }


def test_legacy_note_defaults_to_spark_and_names_what_it_needs(
    shared_env: Environment, tmp_path: Path
) -> None:
    legacy = {
        "paragraphs": [
            legacy_paragraph('val greeting = "hello"\nprintln(greeting)'),
            legacy_paragraph("%python\nprint(6 * 7)"),
            legacy_paragraph("%r\nprint(1)"),
        ],
        "name": "folder/legacy",
        "id": "2A94M5J1Z",
        "angularObjects": {},
        "config": {"looknfeel": "default"},
        "info": {},
    }
    note = tmp_path / "note.json"
    note.write_text(json.dumps(legacy))
    result, executed = execute(shared_env, note)
    scala = (
        "Interpreter spark.spark is not supported: the paragraph needs "
        "Zeppelin's spark.spark interpreter (Scala, the note's default)"
    )
    assert results(executed, 0) == [("TEXT", scala)]
    assert results(executed, 1) == [("TEXT", "42\n")]
    needs_r = "the paragraph needs Zeppelin's spark.r interpreter (R)"
    assert results(executed, 2) == [("TEXT", f"Interpreter r is not supported: {needs_r}")]
    assert result.message == f"Paragraph 1 of 3 failed: {scala} (paragraphs 3 failed too)"
    assert executed["paragraphs"][0]["dateCreated"] == "2016-12-17 15:32:15.000"
    assert "defaultInterpreterGroup" not in executed


def test_spark_sql_in_a_legacy_note_is_spark_sql(shared_env: Environment, tmp_path: Path) -> None:
    if shared_env.has_module("pyspark"):
        pytest.skip("pyspark is installed here: test_spark.py covers it")
    note = tmp_path / "note.json"
    note.write_text(json.dumps({"paragraphs": [legacy_paragraph("%sql\nselect 1")]}))
    _, executed = execute(shared_env, note)
    needs = "Zeppelin's spark.sql interpreter needs pyspark, which is not installed here"
    assert results(executed, 0) == [("TEXT", needs)]


def test_angular_and_spark_conf_paragraphs(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "%spark.conf\n# the Spark session of this note\n! nothing set yet",
        '%angular\n<div ng-click="go()">{{value}}</div>',
    )
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert executed["paragraphs"][0]["results"] == {"code": "SUCCESS", "msg": []}
    assert results(executed, 1) == [("ANGULAR", '\n<div ng-click="go()">{{value}}</div>')]


def test_z_show_of_pyplot_is_an_html_img(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n"
        "z.show(plt, width='400px', height='300px')\nplt.close()",
    )
    _, executed = execute(shared_env, note)
    [(kind, html)] = results(executed, 0)
    assert kind == "HTML"
    assert html.startswith(
        "<div style='width:400px;height:300px'><img src=data:image/png;base64,iVBORw0KGgo"
    )
    assert html.endswith(" style='width=400px;height=300px'><div>\n")


def test_z_forms_have_the_defaults_of_zeppelin_python(
    shared_env: Environment, tmp_path: Path
) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "print(z.checkbox('k', [('a', 'A'), ('b', 'B')]), z.password('pw'), z.select('s', []))",
        "print(z.checkbox('k', [('a', 'A'), ('b', 'B')], ['b', 'zz']))",
    )
    _, executed = execute(shared_env, note)
    assert results(executed, 0) == [("TEXT", "[] None \n")]
    assert results(executed, 1) == [("TEXT", "['b']\n")]
    first = executed["paragraphs"][0]["settings"]
    assert first["params"] == {"k": [], "s": ""}  # Zeppelin keeps no param for a password
    assert first["forms"]["pw"] == {
        "type": "Password",
        "name": "pw",
        "displayName": "pw",
        "defaultValue": "",
        "hidden": False,
    }
    assert first["forms"]["k"]["defaultValue"] == []


def test_ipython_help_is_text(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "len?")
    result, executed = execute(shared_env, note)
    assert result.outcome is Outcome.SUCCEEDED
    [(kind, text)] = results(executed, 0)
    assert kind == "TEXT"
    assert "Return the number of items in a container." in text


def test_written_note_is_byte_compatible_with_gson(shared_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "%md\na <b>bold</b> & 'quoted' x=1")
    note.chmod(0o640)
    execute(shared_env, note)
    written = note.with_name("n.out.zpln")
    text = written.read_text()
    assert '"data": "\\u003cdiv class\\u003d\\"markdown-body\\"\\u003e\\n' in text
    assert "<" not in text and "&" not in text and "'" not in text
    assert written.stat().st_mode & 0o777 == 0o640


def test_parameters_are_used_then_params_restored(shared_env: Environment, tmp_path: Path) -> None:
    def paragraph_with_params(text: str, params: dict[str, Any]) -> dict[str, Any]:
        return paragraph(text, settings={"params": params, "forms": {}})

    note = write_note(
        tmp_path / "n.zpln",
        paragraph_with_params("print(z.textbox('n', '1'), z.textbox('m', '2'))", {"m": "9"}),
        paragraph_with_params("%md ${age} ${checkbox( or ):c=a,a|b}", {}),
    )
    _, executed = execute(shared_env, note, parameters={"n": "5"})
    # Zeppelin's run-all: the run's params replace each paragraph's, which come back after.
    assert results(executed, 0) == [("TEXT", "5 2\n")]
    assert executed["paragraphs"][0]["settings"]["params"] == {"m": "9"}
    assert "<p>a</p>" in results(executed, 1)[0][1]  # "${age} a", stripped
    forms = executed["paragraphs"][1]["settings"]["forms"]
    assert forms["age"] == {"type": "TextBox", "name": "age", "displayName": "age", "hidden": False}
    assert forms["c"]["argument"] == " or "
    _, executed = execute(shared_env, note)  # without parameters, the values used are kept
    assert executed["paragraphs"][0]["settings"]["params"] == {"m": "9", "n": "1"}
    assert executed["paragraphs"][1]["settings"]["params"] == {"c": ["a"]}


def test_a_blank_paragraph_loses_its_stale_result(shared_env: Environment, tmp_path: Path) -> None:
    stale = {"code": "SUCCESS", "msg": [{"type": "TEXT", "data": "from an old run"}]}
    note = write_note(tmp_path / "n.zpln", paragraph("%sh\n", results=stale))
    _, executed = execute(shared_env, note)
    assert "results" not in executed["paragraphs"][0]
    assert executed["paragraphs"][0]["status"] == "FINISHED"
