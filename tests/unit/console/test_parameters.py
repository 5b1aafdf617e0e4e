"""The submit form's parameters, read from a model as its author wrote them."""

from __future__ import annotations

import json
from importlib import resources

import nbformat

from jobmanager.console.parameters import model_parameters
from tests.integration.jobs.api import zeppelin_note


def test_a_notebook_names_its_parameters_in_the_tagged_cell() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import pandas"),
        nbformat.v4.new_code_cell(
            'threshold = 75\nsensor: str = "pump-1"\ndays = [1, 2]\nnow = compute()',
            metadata={"tags": ["parameters"]},
        ),
    ]
    payload = nbformat.writes(notebook).encode()
    assert model_parameters(payload, "jupyter") == {
        "threshold": "75",
        "sensor": "pump-1",
        "days": "[1, 2]",
    }


def test_a_note_names_its_parameters_as_forms() -> None:
    payload = zeppelin_note(
        "%md\nHello ${name=world}",
        "%python\nlimit = z.textbox('limit', '10')\nmode = z.select(\"mode\", [('a', 'A')])",
        "%sh\necho ${day=mon,mon|tue}",
    )
    assert model_parameters(payload, "zeppelin") == {
        "name": "world",
        "limit": "10",
        "mode": "",
        "day": "mon",
    }


def test_the_example_note_asks_for_its_threshold() -> None:
    note = resources.files("jobmanager.examples").joinpath("sensor_report.zpln").read_bytes()
    assert model_parameters(note, "zeppelin") == {"threshold": "75"}


def test_saved_params_win_and_other_payloads_have_none() -> None:
    note = json.loads(zeppelin_note("%md ${x=1}"))
    note["paragraphs"][0]["settings"]["params"] = {"x": "2"}
    assert model_parameters(json.dumps(note).encode(), "zeppelin") == {"x": "2"}
    assert model_parameters(b"\x00not json", "zeppelin") == {}
    assert model_parameters(b'{"empty": "model"}', "other") == {}
