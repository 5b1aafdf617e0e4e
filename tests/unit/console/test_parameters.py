"""The forms' parameters, read from a model as its author wrote them, and read back from
the form with the model's types."""

from __future__ import annotations

import json
import re
from importlib import resources

import nbformat
import pytest

from jobmanager.console.parameters import FormParameter, ParameterForm, parameter_form
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.parameter_types import declared_in
from tests.integration.jobs.api import zeppelin_note


def notebook(source: str) -> bytes:
    document = nbformat.v4.new_notebook()
    document.cells = [
        nbformat.v4.new_code_cell("import pandas"),
        nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]}),
    ]
    return str(nbformat.writes(document)).encode()


CELL = """n = 10
ratio: float = 0.5
name = "10"
verbose = False
limit = None
days = [1, 2]
options = {"a": 1, "b": [True, None]}
now = compute()"""


def texts(form: ParameterForm) -> dict[str, tuple[str, str]]:
    return {field.name: (field.text, field.kind) for field in form.fields}


def test_a_notebook_names_its_parameters_in_the_tagged_cell_with_their_types() -> None:
    form = parameter_form(notebook(CELL), "jupyter")
    assert texts(form) == {
        "n": ("10", "int"),
        "ratio": ("0.5", "float"),
        "name": ("10", "str"),
        "verbose": ("False", "bool"),
        "limit": ("None", "any"),
        "days": ("[1, 2]", "list"),
        "options": ('{"a": 1, "b": [true, null]}', "dict"),
    }


def test_an_unchanged_form_sends_what_the_cell_holds() -> None:
    form = parameter_form(notebook(CELL), "jupyter")
    sent = {field.name: field.text for field in form.fields}
    assert form.read(sent) == {
        "n": 10,
        "ratio": 0.5,
        "name": "10",
        "verbose": False,
        "limit": None,
        "days": [1, 2],
        "options": {"a": 1, "b": [True, None]},
    }


def test_edited_values_are_read_as_the_cells_types() -> None:
    form = parameter_form(notebook(CELL), "jupyter")
    read = form.read(
        {
            "n": " 5 ",
            "ratio": "2",
            "name": "5",
            "verbose": "true",
            "limit": "7",
            "days": "[3, 4]",
            "options": '{"x": false}',
            "unknown": "3.5",  # a field the model does not name: as papermill's -p
        }
    )
    assert read == {
        "n": 5,
        "ratio": 2.0,
        "name": "5",
        "verbose": True,
        "limit": 7,
        "days": [3, 4],
        "options": {"x": False},
        "unknown": 3.5,
    }
    assert type(read["ratio"]) is float


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("n", "ten", "parameters.n: 'ten' is not an integer"),
        ("n", "5.5", "parameters.n: '5.5' is not an integer"),
        ("n", "", "parameters.n: '' is not an integer"),
        ("ratio", "nan", "parameters.ratio: 'nan' is not a number"),
        ("verbose", "yes", "parameters.verbose: 'yes' is not True or False"),
        ("days", "{1: 2}", "parameters.days: '{1: 2}' is not a list"),
        ("options", "[1]", "parameters.options: '[1]' is not a dict"),
    ],
)
def test_a_value_that_is_not_of_its_type_is_refused_by_name(
    name: str, text: str, words: str
) -> None:
    form = parameter_form(notebook(CELL), "jupyter")
    with pytest.raises(InvalidInput, match="^" + re.escape(words)):
        form.read({name: text})


def test_declared_types_win_and_undeclared_blank_fields_are_not_sent() -> None:
    definition = {
        "io": {
            "input": [
                {"name": "n", "type": "string"},
                {"name": "mode", "type": "enum", "enum": ["fast", 2]},
                {"name": "city", "type": "string", "required": True},
                {"name": "readings", "type": "timeseries"},
            ]
        }
    }
    form = parameter_form(notebook("n = 10"), "jupyter", declared_in(definition))
    assert [(f.name, f.kind, f.given) for f in form.fields] == [
        ("n", "str", True),
        ("mode", "enum", False),
        ("city", "str", False),
    ]
    assert form.read({"n": "10", "mode": "2", "city": ""}) == {"n": "10", "mode": 2}
    with pytest.raises(InvalidInput, match=re.escape("parameters.mode: 'slow' is not one of")):
        form.read({"mode": "slow"})


def test_a_note_names_its_parameters_as_forms_and_keeps_them_text() -> None:
    payload = zeppelin_note(
        "%md\nHello ${name=world}",
        "%python\nlimit = z.textbox('limit', '10')\nmode = z.select(\"mode\", [('a', 'A')])",
        "%sh\necho ${day=mon,mon|tue}",
    )
    form = parameter_form(payload, "zeppelin")
    assert texts(form) == {
        "name": ("world", "str"),
        "limit": ("10", "str"),
        "mode": ("", "str"),
        "day": ("mon", "str"),
    }
    assert form.read({"limit": "10", "other": "3"}) == {"limit": "10", "other": "3"}


def test_the_example_note_asks_for_its_threshold() -> None:
    note = resources.files("jobmanager.cli.examples").joinpath("sensor_report.zpln").read_bytes()
    assert parameter_form(note, "zeppelin").fields == (FormParameter("threshold", "75"),)


def test_saved_params_win_and_other_payloads_have_none() -> None:
    note = json.loads(zeppelin_note("%md ${x=1}"))
    note["paragraphs"][0]["settings"]["params"] = {"x": "2"}
    assert texts(parameter_form(json.dumps(note).encode(), "zeppelin")) == {"x": ("2", "str")}
    assert parameter_form(b"\x00not json", "zeppelin").fields == ()
    assert parameter_form(b'{"empty": "model"}', "other").fields == ()


def test_a_jobs_values_fill_the_form_to_run_it_again() -> None:
    form = parameter_form(notebook("n = 10\nname = 'a'"), "jupyter")
    shown = form.showing({"n": 5, "extra": [1], "flag": True})
    assert texts(shown) == {
        "n": ("5", "int"),
        "name": ("a", "str"),
        "extra": ("[1]", "list"),
        "flag": ("True", "bool"),
    }
    assert shown.read({f.name: f.text for f in shown.fields}) == {
        "n": 5,
        "name": "a",
        "extra": [1],
        "flag": True,
    }
