"""The `filter` query parameter of list calls, parsed once for every route, and described
in the OpenAPI document as the JSON it is (`openapi.py` puts `schemas()` there)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Query

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.filters import (
    MAX_FILTER_CHARS,
    FieldSpec,
    Filter,
    FilterError,
    operators_of,
    parse_filter,
)

COMPONENTS = "#/components/schemas/"


class FilterQuery:
    """A dependency: the `filter` parameter parsed over `fields`; a bad one answers 400.
    `name` prefixes the names of its schemas in the OpenAPI document."""

    def __init__(self, name: str, fields: Mapping[str, FieldSpec]) -> None:
        self.name = name
        self.fields = dict(fields)

    def __call__(self, filter: Annotated[str | None, Query()] = None) -> Filter:
        try:
            return parse_filter(filter, self.fields)
        except FilterError as error:
            raise InvalidInput(str(error)) from None

    def schemas(self) -> dict[str, dict[str, Any]]:
        """The JSON schemas of a filter, by component name, the whole filter's first: an
        object of field conditions, each a value or an object of operators, `and`/`or`
        over lists of conditions (recursive, hence components)."""
        top = f"{self.name}Filter"
        conditions = {
            f"{top}_{field}": _condition(f"{top}_{field}", spec)
            for field, spec in self.fields.items()
        }
        whole = {
            "type": "object",
            "additionalProperties": False,
            "properties": {field: {"$ref": f"{COMPONENTS}{top}_{field}"} for field in self.fields},
            "description": f"URL-encoded JSON, at most {MAX_FILTER_CHARS} characters",
        }
        return {top: whole, **conditions}


def _condition(name: str, spec: FieldSpec) -> dict[str, Any]:
    value = _value(spec)
    nested = {"type": "array", "minItems": 1, "items": {"$ref": f"{COMPONENTS}{name}"}}
    operators: dict[str, Any] = {op: value for op in operators_of(spec.kind)}
    operators.update({"and": nested, "or": nested})
    by_operators = {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": operators,
    }
    return {"anyOf": [value, by_operators]}


def _value(spec: FieldSpec) -> dict[str, Any]:
    if spec.kind == "datetime":
        return {"type": "string", "format": "date-time"}
    if spec.kind == "enum":  # matched whatever the case
        return {"type": "string", "pattern": _any_case(spec.choices)}
    return {"type": "string"}


def _any_case(choices: tuple[str, ...]) -> str:
    """A pattern matching exactly the choices, in any case (no regex flags in JSON Schema)."""
    spelled = (
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in choice)
        for choice in choices
    )
    return f"^(?:{'|'.join(spelled)})$"
