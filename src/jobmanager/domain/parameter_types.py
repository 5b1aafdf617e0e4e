"""Typed parameters: what a model version's `io.input` declares, and the checks of a
job's (or a schedule's) `parameters` against it.

An entry of `io.input` declares a parameter when its `type` is one of PARAMETER_TYPES
(case ignored): `string`, `integer`, `number`, `boolean`, `date` (ISO 8601, a date or a
date-time) or `enum` (one of its `enum` values). Entries of other types (`timeseries`,
`double`, ...) describe data, not parameters, and are not checked. `required: true`
makes the parameter mandatory; parameters nobody declared pass unchecked (a note's
forms need not all be declared). Every error names the parameter.

`from_text` reads a value given on a command line as papermill's `-p` does; `read_as`
reads a form field's text as the type the model gives the parameter (`FormType`).
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from jobmanager.domain.errors import InvalidInput

PARAMETER_TYPES = ("string", "integer", "number", "boolean", "date", "enum")


@dataclass(frozen=True)
class Declared:
    """One declared parameter: its name, type, whether it is required, and for an enum
    the values it may take."""

    name: str
    type: str
    required: bool = False
    values: tuple[Any, ...] = ()


def declared_parameters(io_input: Iterable[Any]) -> list[Declared]:
    """The parameters among a version's `io.input` entries (others are ignored)."""
    found = []
    for entry in io_input:
        if not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("type") or "").lower()
        name = entry.get("name")
        if kind not in PARAMETER_TYPES or not isinstance(name, str) or not name:
            continue
        values = entry.get("enum") or ()
        found.append(Declared(name, kind, entry.get("required") is True, tuple(values)))
    return found


def declared_in(definition: Mapping[str, Any] | None) -> list[Declared]:
    """The parameters a version's definition declares (its `io.input`)."""
    io = (definition or {}).get("io") or {}
    return declared_parameters(io.get("input") or [] if isinstance(io, Mapping) else [])


def check_declaration(entry: Mapping[str, Any]) -> None:
    """An `io.input` entry that declares an enum lists its values (ValueError if not)."""
    if str(entry.get("type") or "").lower() == "enum" and not entry.get("enum"):
        raise ValueError(f"io.input {entry.get('name')!r}: an enum lists its values in `enum`")


def check_typed_parameters(parameters: Mapping[str, Any], declared: Iterable[Declared]) -> None:
    """InvalidInput naming the first parameter that is missing or of the wrong type."""
    for parameter in declared:
        if parameter.name not in parameters:
            if parameter.required:
                raise InvalidInput(
                    f"parameters.{parameter.name}: required by the model version "
                    f"({_describe(parameter)})"
                )
            continue
        value = parameters[parameter.name]
        if not _fits(parameter, value):
            raise InvalidInput(
                f"parameters.{parameter.name}: {value!r} is not {_describe(parameter)}"
            )


def _describe(parameter: Declared) -> str:
    if parameter.type == "enum":
        return "one of " + ", ".join(repr(v) for v in parameter.values)
    return {
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "a boolean (true or false)",
        "date": "an ISO 8601 date (2026-11-30) or date-time",
    }[parameter.type]


def _fits(parameter: Declared, value: Any) -> bool:
    kind = parameter.type
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        return numeric and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and _is_iso_date(value)
    return value in parameter.values and not isinstance(value, bool)


def _is_iso_date(text: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(text.replace("Z", "+00:00"))
        except ValueError:
            continue
        return True
    return False


def from_text(text: str) -> Any:
    """A value as papermill's `-p` reads it: `True`, `False`, `None`, an integer, a
    float, else the text itself (`true` stays text, as with papermill)."""
    literals: dict[str, Any] = {"True": True, "False": False, "None": None}
    if text in literals:
        return literals[text]
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    return text


# How a form reads a parameter's text back (the console's Submit, Schedule and Run-again
# forms): as the type of the literal in the notebook's `parameters` cell, or as the type
# the version's `io.input` declares. `any` is papermill's `-p` (`from_text`): a cell
# default of None says nothing of the type.
FormType = Literal["str", "int", "float", "number", "bool", "list", "dict", "enum", "any"]
_LITERAL_TYPES: dict[type, FormType] = {
    str: "str",
    bool: "bool",
    int: "int",
    float: "float",
    list: "list",
    dict: "dict",
}
_DECLARED_TYPES: dict[str, FormType] = {
    "string": "str",
    "date": "str",
    "integer": "int",
    "number": "number",
    "boolean": "bool",
    "enum": "enum",
}
_NAMES = {
    "int": "an integer",
    "float": "a number",
    "number": "a number",
    "bool": "True or False",
    "list": "a list, e.g. [1, 2]",
    "dict": 'a dict, e.g. {"a": 1}',
}


def literal_type(value: Any) -> FormType:
    """The form type of a parameters-cell literal's value (None, a tuple, ...: `any`)."""
    return _LITERAL_TYPES.get(type(value), "any")


def declared_type(parameter: Declared) -> FormType:
    """The form type of a declared parameter."""
    return _DECLARED_TYPES[parameter.type]


def as_form_text(value: Any) -> str:
    """A value as a form field shows it, so that `read_as` reads it back: text as it is,
    True/False/None and numbers as Python writes them, lists and dicts as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def read_as(text: str, kind: FormType, name: str, values: tuple[Any, ...] = ()) -> Any:
    """A form field's text read as `kind` (an enum's as one of `values`), or
    InvalidInput naming the parameter and what it should be."""
    if kind == "str":
        return text
    if kind == "any":
        return from_text(text)
    if kind == "enum":
        return _enum_value(text, name, values)
    value = _READERS[kind](text.strip())
    if value is _UNREADABLE:
        raise InvalidInput(f"parameters.{name}: {text[:80]!r} is not {_NAMES[kind]}")
    return value


_UNREADABLE = object()


def _read_int(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return _UNREADABLE


def _read_float(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return _UNREADABLE
    return value if math.isfinite(value) else _UNREADABLE


def _read_number(text: str) -> Any:
    value = _read_int(text)
    return _read_float(text) if value is _UNREADABLE else value


def _read_bool(text: str) -> Any:
    return {"true": True, "false": False}.get(text.lower(), _UNREADABLE)


def _read_container(kind: type) -> Any:
    def read(text: str) -> Any:
        """A Python literal, as in the cell, or JSON (`true`, `null`)."""
        for parse in (ast.literal_eval, json.loads):
            try:
                value = parse(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(value, kind) and _is_json(value):
                return value
        return _UNREADABLE

    return read


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


_READERS = {
    "int": _read_int,
    "float": _read_float,
    "number": _read_number,
    "bool": _read_bool,
    "list": _read_container(list),
    "dict": _read_container(dict),
}


def _enum_value(text: str, name: str, values: tuple[Any, ...]) -> Any:
    for value in values:
        if str(value) == text.strip():
            return value
    choices = ", ".join(repr(v) for v in values)
    raise InvalidInput(f"parameters.{name}: {text[:80]!r} is not one of {choices}")
