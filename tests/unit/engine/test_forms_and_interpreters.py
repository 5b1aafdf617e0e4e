"""Simple dynamic forms and interpreter resolution."""

from __future__ import annotations

import nbformat
import pytest

from jobmanager.engine.forms import substitute
from jobmanager.engine.interpreters import Executor, resolve
from jobmanager.engine.notebook import inject_parameters, literal


def test_textbox_default_and_param() -> None:
    text, uses = substitute("select * from t where a > ${min=3}", {}, {})
    assert text == "select * from t where a > 3"
    assert uses[0].form == {
        "type": "TextBox",
        "name": "min",
        "displayName": "min",
        "defaultValue": "3",
        "hidden": False,
    }
    text, _ = substitute("${min=3}", {"min": 7.0}, {})
    assert text == "7"


def test_label_select_and_hidden() -> None:
    text, uses = substitute("_${day(Day)=1,1(Sun)|2(Mon)}", {"day": "2"}, {})
    assert text == "2"
    form = uses[0].form
    assert form["type"] == "Select"
    assert form["displayName"] == "Day"
    assert form["hidden"] is True
    assert form["options"] == [
        {"value": "1", "displayName": "Sun"},
        {"value": "2", "displayName": "Mon"},
    ]


def test_checkbox_keeps_its_delimiter_as_argument() -> None:
    text, uses = substitute("${checkbox( or ):c(Country)=US|JP,US|UK|JP}", {}, {})
    assert text == "US or JP"
    assert uses[0].form == {
        "type": "CheckBox",
        "options": [{"value": "US"}, {"value": "UK"}, {"value": "JP"}],
        "name": "c",
        "displayName": "Country",
        "defaultValue": ["US", "JP"],
        "hidden": False,
        "argument": " or ",
    }
    assert (uses[0].value, uses[0].record) == (["US", "JP"], True)


def test_checked_values_that_are_no_options_are_dropped() -> None:
    text, uses = substitute("${checkbox:c=a,a|b}", {"c": ["b", "zz"]}, {})
    assert (text, uses[0].value) == ("b", ["b"])


def test_forms_are_recorded_as_zeppelin_input_builds_them() -> None:
    text, uses = substitute("${age} ${password:pw} $${region=eu}", {"pw": "s"}, {"region": "us"})
    assert text == " s us"
    assert uses[0].form == {"type": "TextBox", "name": "age", "displayName": "age", "hidden": False}
    assert uses[1].form == {
        "type": "Password",
        "name": "pw",
        "displayName": "pw",
        "defaultValue": "",
        "hidden": False,
    }
    assert uses[2].note_scope
    assert not any(use.record for use in uses)  # simple forms keep no params


@pytest.mark.parametrize(
    ("prefix", "group", "executor", "full"),
    [
        ("", "python", Executor.PYTHON, "python.python"),
        ("python", "python", Executor.PYTHON, "python.python"),
        ("python.ipython", "spark", Executor.PYTHON, "python.ipython"),
        ("ipython", "python", Executor.PYTHON, "python.ipython"),
        ("sql", "python", Executor.PYTHON_SQL, "python.sql"),
        ("python.sql", "spark", Executor.PYTHON_SQL, "python.sql"),
        ("sql", "spark", Executor.SPARK_SQL, "spark.sql"),
        ("pyspark", "spark", Executor.SPARK, "spark.pyspark"),
        ("pyspark", "python", Executor.SPARK, "spark.pyspark"),
        ("spark.pyspark", "python", Executor.SPARK, "spark.pyspark"),
        ("sh", "python", Executor.SHELL, "sh.sh"),
        ("md", "spark", Executor.MARKDOWN, "md.md"),
        ("", "spark", Executor.UNSUPPORTED, "spark.spark"),
        ("jdbc", "python", Executor.UNSUPPORTED, "jdbc.jdbc"),
    ],
)
def test_resolution_follows_zeppelin(
    prefix: str, group: str, executor: Executor, full: str
) -> None:
    resolved = resolve(prefix, group)
    assert (resolved.executor, resolved.full_name) == (executor, full)


def test_unsupported_name_is_the_prefix_as_written() -> None:
    assert resolve("jdbc", "python").name == "jdbc"
    assert resolve("", "spark").name == "spark.spark"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('it\'s "x"\n', '"it\'s \\"x\\"\\n"'),
        (True, "True"),
        (None, "None"),
        (1.5, "1.5"),
        ({"a": [1, "b"]}, '{"a": [1, "b"]}'),
        (float("nan"), "float('nan')"),
    ],
)
def test_parameters_are_written_as_papermill_writes_them(value: object, text: str) -> None:
    assert literal(value) == text
    if value == value:  # NaN aside, the literal evaluates back to the value
        assert eval(text) == value


def test_injected_cell_matches_papermill() -> None:
    translators = pytest.importorskip("papermill.translators")
    params = {"s": 'it\'s "x"\n', "n": 3, "f": 0.5, "b": False, "d": {"k": [1, None]}}
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("a = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    inject_parameters(nb, params)
    assert nb.cells[1].source == translators.PythonTranslator.codify(params)
    assert nb.cells[1].metadata["tags"] == ["injected-parameters"]
