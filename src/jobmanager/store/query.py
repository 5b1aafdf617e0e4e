"""Shared query helpers: list filters as SQL, paged selects, and inserts with `ON CONFLICT`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from jobmanager.domain.filter_fields import column_name
from jobmanager.domain.filters import AllOf, AnyOf, Compare, Cond, Filter, millisecond_range

# The reference service lists "up to 10.000 items": counting stops there, which
# keeps a page of a very long list as cheap as the first one.
MAX_LISTED = 10_000


def filter_columns(table: type[Any], fields: Iterable[str]) -> dict[str, Any]:
    """Each filter field's column: the table's attribute named as the field in snake_case."""
    return {field: getattr(table, column_name(field)) for field in fields}


def filter_clause(flt: Filter, columns: Mapping[str, Any]) -> ColumnElement[bool]:
    """The SQL condition of a parsed filter over the given columns (field name → column)."""
    clauses = [_cond_clause(fc.condition, columns[fc.field]) for fc in flt.fields]
    return and_(true(), *clauses)


def _cond_clause(cond: Cond, column: Any) -> ColumnElement[bool]:
    if isinstance(cond, AllOf):
        return and_(true(), *(_cond_clause(c, column) for c in cond.conditions))
    if isinstance(cond, AnyOf):
        return or_(false(), *(_cond_clause(c, column) for c in cond.conditions))
    return _compare_clause(cond, column)


def _compare_clause(cond: Compare, column: Any) -> ColumnElement[bool]:
    if isinstance(cond.value, datetime):
        return _date_clause(cond, cond.value, column)
    if cond.op == "eq":
        return column == cond.value  # type: ignore[no-any-return]
    if cond.op == "contains":
        escaped = str(cond.value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(f"%{escaped}%", escape="\\")  # type: ignore[no-any-return]
    if cond.op == "gt":
        return column > cond.value  # type: ignore[no-any-return]
    return column < cond.value  # type: ignore[no-any-return]


def _date_clause(cond: Compare, value: datetime, column: Any) -> ColumnElement[bool]:
    """Dates compare as the API shows them, to the millisecond (`millisecond_range`)."""
    start, until = millisecond_range(cond.op, value)
    bounds = []
    if start is not None:
        bounds.append(column >= start)
    if until is not None:
        bounds.append(column < until)
    return and_(true(), *bounds)


def paged(session: Session, query: Select[Any], offset: int, size: int) -> tuple[list[Any], int]:
    """One page of `query` (already ordered) and the count of all its rows, capped at MAX_LISTED."""
    capped = query.order_by(None).with_only_columns(literal(1)).limit(MAX_LISTED).subquery()
    total = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    if offset >= total:
        return [], total
    rows = list(session.scalars(query.offset(offset).limit(size)))
    return rows, total


def conflict_insert(session: Session, table: Any) -> Any:
    """An INSERT into `table` that takes `on_conflict_do_nothing` / `_do_update`, in the
    session's dialect (PostgreSQL and SQLite both have them)."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
