"""Typed parameters: what a model version's `io.input` declares, and the checks of a
job's (or a schedule's) `parameters` against it.

An entry of `io.input` declares a parameter when its `type` is one of PARAMETER_TYPES
(case ignored): `string`, `integer`, `number`, `boolean`, `date` (ISO 8601, a date or a
date-time) or `enum` (one of its `enum` values). Entries of other types (`timeseries`,
`double`, ...) describe data, not parameters, and are not checked. `required: true`
makes the parameter mandatory; parameters nobody declared pass unchecked (a note's
forms need not all be declared). Every error names the parameter.

`from_text` reads a value given on a command line as papermill's `-p` does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

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
