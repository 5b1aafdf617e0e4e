"""Notebooks as Model Management takes them (`domain/notebooks.py`), and non-finite
parameters (`domain/parameters.py`)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.notebooks import NO_KERNEL_WARNING, inspect_notebook, runnable_problem
from jobmanager.domain.parameters import (
    check_parameters,
    parameters_for_json,
    parameters_for_run,
)
from jobmanager.domain.payload import inspect_payload

JUPYTER = Path(__file__).resolve().parents[2] / "fixtures" / "jupyter"
CELL: dict[str, Any] = {
    "cell_type": "code",
    "execution_count": None,
    "metadata": {},
    "outputs": [],
    "source": "",
}
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def book(*cells: dict[str, Any], minor: int = 4, **metadata: Any) -> dict[str, Any]:
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": KERNEL, **metadata},
        "nbformat": 4,
        "nbformat_minor": minor,
    }


def problem(document: dict[str, Any]) -> str:
    with pytest.raises(ValueError) as refused:
        inspect_notebook(document)
    return str(refused.value)


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ({**CELL, "cell_type": "nonsense"}, "cells/0/cell_type: 'nonsense' is not one of 'raw', "),
        ({k: v for k, v in CELL.items() if k != "source"}, "cells/0: 'source' is a required"),
        ({**CELL, "source": 3}, "cells/0/source: 3 is not valid under any of the given schemas"),
        (
            {**CELL, "outputs": [{"output_type": "stream", "name": "stdout"}]},
            "cells/0/outputs/0: 'text' is a required property",
        ),
    ],
)
def test_a_broken_cell_is_named_with_what_is_wrong(cell: dict[str, Any], says: str) -> None:
    assert problem(book(cell)).startswith(says)


def test_what_nbformat_reads_or_repairs_is_taken() -> None:
    facts = inspect_notebook(book(CELL, minor=5))  # no cell id: nbformat's reader adds one
    assert (facts.kernel, facts.language, facts.warnings) == ("python3", "python", ())
    v3 = json.loads((JUPYTER / "ipython2-v3.ipynb").read_text())
    assert inspect_notebook(v3).warnings == (NO_KERNEL_WARNING,)


def test_a_kernelspec_without_name_is_taken_with_a_warning() -> None:
    nameless = book(CELL)
    nameless["metadata"]["kernelspec"] = {"display_name": "Python 3", "language": "python"}
    facts = inspect_notebook(nameless)
    assert (facts.kernel, facts.language, facts.warnings) == (None, "python", (NO_KERNEL_WARNING,))


def test_only_versions_nbformat_reads_are_notebooks() -> None:
    assert problem({**book(), "nbformat": 5}).startswith("nbformat 5 is not read here")
    assert problem({**book(), "nbformat_minor": "4"}) == "nbformat_minor: '4' is not an integer"


def test_a_newer_minor_version_warns_of_what_it_was_not_checked_for() -> None:
    future = book({**CELL, "id": "a", "folded": True}, minor=99)
    [warning] = inspect_notebook(future).warnings
    assert warning.startswith("nbformat 4.99 is newer than this service reads (4.5)")
    assert "cells/0: Additional properties are not allowed ('folded' was unexpected)" in warning
    assert problem({**future, "metadata": []}).startswith("metadata: [] is not of type")


def test_messages_stay_short() -> None:
    huge = book({**CELL, "source": 3, "metadata": {"tags": "x" * 10_000}})
    assert len(problem(huge)) < 300


def test_the_language_decides_what_a_job_runs() -> None:
    assert runnable_problem("python3", "python") is None
    assert runnable_problem(None, None) is None
    assert runnable_problem("conda-env-x-py", "Python") is None
    assert "kernel 'ir' (R) is not Python" in str(runnable_problem("ir", "R"))
    r_notebook = book(CELL, language_info={"name": "R"})
    r_notebook["metadata"]["kernelspec"] = {"name": "ir", "display_name": "R"}
    assert inspect_notebook(r_notebook).language == "R"


def test_upload_refuses_a_broken_notebook_naming_the_file_part() -> None:
    broken = (JUPYTER / "metadata-list.ipynb").read_bytes()
    with pytest.raises(InvalidInput, match=r"^file: not a valid Jupyter notebook: metadata: "):
        inspect_payload(broken)
    assert inspect_payload(b'{"empty": "model"}').kind == "other"
    assert inspect_payload(b'{"cells": "none", "nbformat": 4}').kind == "other"


def test_non_finite_parameters_are_stored_as_extended_json_and_run_as_floats() -> None:
    given = {"a": math.nan, "b": [math.inf, {"c": -math.inf}], "d": 1.5, "e": "NaN"}
    stored = check_parameters(given)
    assert json.loads(json.dumps(stored, allow_nan=False)) == {
        "a": {"$numberDouble": "NaN"},
        "b": [{"$numberDouble": "Infinity"}, {"c": {"$numberDouble": "-Infinity"}}],
        "d": 1.5,
        "e": "NaN",
    }
    run = parameters_for_run(stored)
    assert math.isnan(run["a"]) and run["b"] == [math.inf, {"c": -math.inf}]
    assert run["d"] == 1.5 and run["e"] == "NaN"
    other = {"x": {"$numberDouble": "1.5"}, "y": {"$numberDouble": "NaN", "z": 1}}
    assert parameters_for_run(other) == other  # only the three names, alone, are numbers
    assert parameters_for_json(copy.deepcopy(other)) == other
