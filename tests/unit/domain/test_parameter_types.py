"""Typed parameters: declarations from `io.input`, the checks, papermill's `-p` reading,
a form's text read as a parameter's type."""

from __future__ import annotations

from typing import Any

import pytest

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.parameter_types import (
    as_form_text,
    check_declaration,
    check_typed_parameters,
    declared_in,
    declared_parameters,
    declared_type,
    from_text,
    literal_type,
    read_as,
)

IO_INPUT: list[Any] = [
    {"name": "city", "type": "string", "required": True},
    {"name": "count", "type": "integer"},
    {"name": "ratio", "type": "Number"},
    {"name": "dry", "type": "boolean"},
    {"name": "day", "type": "date"},
    {"name": "mode", "type": "enum", "enum": ["fast", "slow", 3]},
    {"name": "series", "type": "timeseries", "required": True},  # data, not a parameter
    "not an entry",
]
DECLARED = declared_parameters(IO_INPUT)


def test_only_entries_of_a_parameter_type_are_declarations() -> None:
    assert [p.name for p in DECLARED] == ["city", "count", "ratio", "dry", "day", "mode"]
    assert DECLARED[0].required and not DECLARED[1].required
    assert DECLARED[5].values == ("fast", "slow", 3)


@pytest.mark.parametrize(
    "parameters",
    [
        {"city": "Berlin"},
        {"city": "", "count": -3, "ratio": 2, "dry": False, "day": "2026-11-30", "mode": 3},
        {"city": "x", "ratio": 0.5, "day": "2026-11-30T12:00:00Z", "mode": "fast", "other": [1]},
    ],
)
def test_parameters_that_fit_pass(parameters: dict[str, Any]) -> None:
    check_typed_parameters(parameters, DECLARED)


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({}, "parameters.city: required"),
        ({"city": 3}, "parameters.city: 3 is not a string"),
        ({"city": "x", "count": 1.5}, "parameters.count: 1.5 is not an integer"),
        ({"city": "x", "count": True}, "parameters.count: True is not an integer"),
        ({"city": "x", "ratio": "1"}, "parameters.ratio: '1' is not a number"),
        ({"city": "x", "ratio": float("nan")}, "parameters.ratio"),
        ({"city": "x", "dry": "true"}, "parameters.dry: 'true' is not a boolean"),
        ({"city": "x", "day": "30.11.2026"}, "parameters.day: '30.11.2026' is not an ISO 8601"),
        ({"city": "x", "mode": "medium"}, "parameters.mode: 'medium' is not one of 'fast'"),
        ({"city": "x", "mode": True}, "parameters.mode"),
    ],
)
def test_a_misfit_is_refused_naming_the_parameter(parameters: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_typed_parameters(parameters, DECLARED)
    assert named in error.value.message


def test_an_enum_lists_its_values() -> None:
    with pytest.raises(ValueError, match="'mode'"):
        check_declaration({"name": "mode", "type": "enum"})
    check_declaration({"name": "mode", "type": "enum", "enum": ["a"]})
    check_declaration({"name": "x", "type": "string"})


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("True", True),
        ("False", False),
        ("false", "false"),
        ("None", None),
        ("42", 42),
        ("-1.5", -1.5),
        ("1e3", 1000.0),
        ("hello", "hello"),
        ("TRUE", "TRUE"),
        ("", ""),
    ],
)
def test_command_line_values_are_read_as_papermill_reads_them(text: str, value: Any) -> None:
    assert from_text(text) == value and type(from_text(text)) is type(value)


@pytest.mark.parametrize(
    "value",
    [10, -3, 0.5, 1e-9, "10", "", "True", True, False, None, [1, "a", None], {"k": [1.5]}],
)
def test_a_value_shown_in_a_form_reads_back_as_itself(value: Any) -> None:
    text = as_form_text(value)
    back = read_as(text, literal_type(value), "p")
    assert back == value and type(back) is type(value)


def test_declared_types_read_as_their_form_types() -> None:
    kinds = {parameter.name: declared_type(parameter) for parameter in DECLARED}
    assert kinds == {
        "city": "str",
        "count": "int",
        "ratio": "number",
        "dry": "bool",
        "day": "str",
        "mode": "enum",
    }
    assert read_as("2", "number", "ratio") == 2 and read_as("2.5", "number", "ratio") == 2.5
    assert read_as("3", "enum", "mode", ("fast", 3)) == 3
    assert declared_in({"io": {"input": IO_INPUT}}) == DECLARED
    assert declared_in({"io": "not an object"}) == [] and declared_in(None) == []
    with pytest.raises(InvalidInput, match=r"parameters\.count: 'x' is not an integer"):
        read_as("x", "int", "count")
