"""The list filter language (SPEC §1): JSON text → a validated filter tree.

A filter is a JSON object whose keys are field names; the fields are ANDed.
A field's condition is a plain value (equals) or an object of operators:
``eq``, ``contains``, ``gt``/``after``, ``lt``/``before``, or ``and``/``or``
over a non-empty list of conditions. An object with several operators ANDs
them (``{"after": a, "before": b}`` is a range).

Which operators a field accepts depends on its kind:

- ``string``: ``eq``, ``contains`` (case-sensitive substring);
- ``enum``: ``eq`` with one of the field's choices (matched case-insensitively,
  stored in the tree in the choice's own spelling);
- ``datetime``: ``eq``, ``gt``/``after``, ``lt``/``before`` with ISO-8601 text
  (``Z``, an offset, or none = UTC; fractions allowed).

Dates compare at the precision the API shows them, milliseconds (SPEC: every
timestamp is answered as ``2018-10-01T12:00:00.001Z``): a stored date counts as
its value cut to the millisecond. So a ``creationDate`` the API answered matches
itself under ``eq`` and is excluded by ``after``, though the store keeps
microseconds. :func:`millisecond_range` is that rule for the SQL translation.

The tree (:class:`Filter` → :class:`FieldCondition` → :data:`Cond`) is plain
frozen dataclasses so that the store can translate it to SQL; ``after`` and
``before`` are normalized to ``gt`` and ``lt``, and dates are aware UTC.
:func:`matches` evaluates it in Python: the oracle the SQL is tested against.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Literal, TypeAlias

Kind = Literal["string", "enum", "datetime"]
Op = Literal["eq", "contains", "gt", "lt"]
Value: TypeAlias = str | datetime

MAX_FILTER_CHARS = 16_384
MAX_DEPTH = 8
MAX_CONDITIONS = 200
SHOWN_PRECISION = timedelta(milliseconds=1)

_OPERATOR_ALIASES: dict[str, Op] = {
    "eq": "eq",
    "contains": "contains",
    "gt": "gt",
    "after": "gt",
    "lt": "lt",
    "before": "lt",
}
_OPS_BY_KIND: dict[Kind, frozenset[Op]] = {
    "string": frozenset({"eq", "contains"}),
    "enum": frozenset({"eq"}),
    "datetime": frozenset({"eq", "gt", "lt"}),
}


def operators_of(kind: Kind) -> tuple[str, ...]:
    """The operator names a field of `kind` accepts, aliases included (`and`/`or` aside)."""
    return tuple(name for name, op in _OPERATOR_ALIASES.items() if op in _OPS_BY_KIND[kind])


class FilterError(ValueError):
    """A filter that cannot be used; ``field`` is None for whole-filter problems."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"filter: {message}" if field is None else f"filter: {field}: {message}")


@dataclass(frozen=True)
class FieldSpec:
    """What a filterable field holds; ``choices`` only for ``enum`` fields."""

    kind: Kind
    choices: tuple[str, ...] = ()


STRING = FieldSpec("string")
DATETIME = FieldSpec("datetime")


def enum_field(choices: Any) -> FieldSpec:
    """An enum field from an iterable of strings or of a ``StrEnum``'s members."""
    return FieldSpec("enum", tuple(str(c.value if isinstance(c, Enum) else c) for c in choices))


@dataclass(frozen=True)
class Compare:
    op: Op
    value: Value


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Cond, ...]


Cond: TypeAlias = Compare | AllOf | AnyOf


@dataclass(frozen=True)
class FieldCondition:
    field: str
    kind: Kind
    condition: Cond


@dataclass(frozen=True)
class Filter:
    """Top-level conditions, ANDed. No fields = matches everything."""

    fields: tuple[FieldCondition, ...] = ()


NO_FILTER = Filter()


# ---------------------------------------------------------------- parsing


def parse_filter(text: str | None, allowed: Mapping[str, FieldSpec]) -> Filter:
    """Parse URL-decoded filter JSON against ``allowed`` fields.

    ``None`` or blank text is no filter. Raises :class:`FilterError` only.
    """
    if text is None or not text.strip():
        return Filter()
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(None, f"longer than {MAX_FILTER_CHARS} characters")
    document = _load_json(text)
    if not isinstance(document, dict):
        raise FilterError(None, "must be a JSON object of field conditions")
    budget = _Budget()
    fields = []
    for name, raw in document.items():
        spec = allowed.get(name)
        if spec is None:
            known = ", ".join(sorted(allowed))
            raise FilterError(name, f"unknown field; filterable fields: {known}")
        fields.append(FieldCondition(name, spec.kind, _parse_cond(raw, name, spec, 1, budget)))
    return Filter(tuple(fields))


def parse_datetime(text: str) -> datetime:
    """ISO-8601 text → aware UTC datetime (naive text is UTC). Raises ValueError."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class _Budget:
    """Counts condition nodes so that a huge filter is refused, not evaluated."""

    def __init__(self) -> None:
        self.left = MAX_CONDITIONS

    def spend(self, field: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise FilterError(field, f"more than {MAX_CONDITIONS} conditions")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except RecursionError:
        raise FilterError(None, "nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, duplicate keys, huge ints
        raise FilterError(None, f"not valid JSON: {exc}") from None


def _parse_cond(raw: Any, field: str, spec: FieldSpec, depth: int, budget: _Budget) -> Cond:
    if depth > MAX_DEPTH:
        raise FilterError(field, f"conditions nested more than {MAX_DEPTH} deep")
    budget.spend(field)
    if not isinstance(raw, dict):
        return Compare("eq", _parse_value(raw, "eq", field, spec))
    if not raw:
        raise FilterError(field, "empty condition object")
    parts = [_parse_operator(key, arg, field, spec, depth, budget) for key, arg in raw.items()]
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _parse_operator(
    key: str, arg: Any, field: str, spec: FieldSpec, depth: int, budget: _Budget
) -> Cond:
    if key in ("and", "or"):
        if not isinstance(arg, list) or not arg:
            raise FilterError(field, f"'{key}' needs a non-empty list of conditions")
        subs = tuple(_parse_cond(item, field, spec, depth + 1, budget) for item in arg)
        return AllOf(subs) if key == "and" else AnyOf(subs)
    op = _OPERATOR_ALIASES.get(key)
    if op is None:
        raise FilterError(
            field, f"unknown operator '{key}'; use eq, contains, gt/after, lt/before, and, or"
        )
    if op not in _OPS_BY_KIND[spec.kind]:
        allowed = ", ".join(sorted(_OPS_BY_KIND[spec.kind]))
        raise FilterError(field, f"operator '{key}' not allowed on a {spec.kind} field ({allowed})")
    return Compare(op, _parse_value(arg, key, field, spec))


def _parse_value(raw: Any, key: str, field: str, spec: FieldSpec) -> Value:
    if not isinstance(raw, str):
        raise FilterError(field, f"'{key}' needs a string value, got {json.dumps(raw)[:60]}")
    if spec.kind == "datetime":
        try:
            return parse_datetime(raw)
        except ValueError:
            raise FilterError(field, f"'{raw[:60]}' is not an ISO-8601 date-time") from None
    if spec.kind == "enum":
        return _enum_choice(raw, field, spec.choices)
    return raw


def _enum_choice(raw: str, field: str, choices: tuple[str, ...]) -> str:
    for choice in choices:
        if choice.casefold() == raw.casefold():
            return choice
    raise FilterError(field, f"'{raw[:60]}' is not one of {', '.join(choices)}")


# ---------------------------------------------------------------- evaluating


def matches(flt: Filter, record: Mapping[str, Any]) -> bool:
    """Whether ``record`` satisfies every field condition of ``flt``.

    The language's reference semantics: the store's SQL translation
    (``store.query.filter_clause``) is property-tested against it on both databases.

    A missing or null field satisfies no comparison. Records may hold enum
    members for enum fields and datetimes or ISO text for datetime fields.
    """
    return all(_holds(fc.condition, _record_value(record, fc)) for fc in flt.fields)


def _record_value(record: Mapping[str, Any], fc: FieldCondition) -> Value | None:
    value = record.get(fc.field)
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if fc.kind == "datetime":
        if isinstance(value, datetime):
            aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
            return as_shown(aware)
        return as_shown(parse_datetime(str(value)))
    return str(value)


def as_shown(moment: datetime) -> datetime:
    """``moment`` cut to the precision the API shows (milliseconds)."""
    return moment - timedelta(microseconds=moment.microsecond % 1000)


def millisecond_range(op: Op, value: datetime) -> tuple[datetime | None, datetime | None]:
    """The stored dates a date comparison selects: ``(from, until)``, from included,
    until excluded, ``None`` for no bound (``eq`` of a value between milliseconds
    selects nothing: ``from == until``).

    A stored date ``d`` is compared as ``as_shown(d)``; the bounds are on ``d``
    itself, so the database compares plain columns on every backend.
    """
    floor = as_shown(value)
    ceiling = floor if floor == value else floor + SHOWN_PRECISION
    if op == "eq":
        return (value, value + SHOWN_PRECISION) if floor == value else (value, value)
    if op == "gt":
        return floor + SHOWN_PRECISION, None
    return None, ceiling


def _holds(cond: Cond, value: Value | None) -> bool:
    if isinstance(cond, AllOf):
        return all(_holds(c, value) for c in cond.conditions)
    if isinstance(cond, AnyOf):
        return any(_holds(c, value) for c in cond.conditions)
    if value is None:
        return False
    return _compare(cond.op, value, cond.value)


def _compare(op: Op, actual: Value, expected: Value) -> bool:
    if op == "eq":
        return actual == expected
    if op == "contains":
        return isinstance(actual, str) and isinstance(expected, str) and expected in actual
    if isinstance(actual, datetime) and isinstance(expected, datetime):
        return actual > expected if op == "gt" else actual < expected
    return False


# ---------------------------------------------------------------- writing


def to_json(flt: Filter) -> str:
    """The filter as JSON text that :func:`parse_filter` reads back to an equal tree."""
    return json.dumps({fc.field: _cond_json(fc.condition) for fc in flt.fields})


def _cond_json(cond: Cond) -> Any:
    if isinstance(cond, AllOf):
        return {"and": [_cond_json(c) for c in cond.conditions]}
    if isinstance(cond, AnyOf):
        return {"or": [_cond_json(c) for c in cond.conditions]}
    value = cond.value
    text = value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
    return {cond.op: text}
