"""The store's SQL for list filters (`store.query.filter_clause`) agrees with the filter
language's own evaluator (`domain.filters.matches`, the oracle) on the same rows, on SQLite
and PostgreSQL: tricky text (`%`, `_`, `\\`, case, non-ASCII), nulls, and dates equal to the
millisecond or the microsecond (dates compare at the milliseconds the API shows)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from jobmanager.domain.filters import (
    DATETIME,
    STRING,
    AllOf,
    AnyOf,
    Compare,
    Cond,
    FieldCondition,
    Filter,
    enum_field,
    matches,
)
from jobmanager.store.db import Database
from jobmanager.store.query import filter_clause
from jobmanager.store.types import UTCDateTime

STATUSES = ("SUBMITTED", "RUNNING", "FAILED")
FIELDS = {"name": STRING, "status": enum_field(STATUSES), "created": DATETIME}
T0 = datetime(2024, 2, 29, 12, 0, 0, 123456, tzinfo=UTC)
T0_SHOWN = datetime(2024, 2, 29, 12, 0, 0, 123000, tzinfo=UTC)
MOMENTS = (
    T0,
    T0 + timedelta(microseconds=1),
    T0_SHOWN,
    T0_SHOWN + timedelta(microseconds=999),
    T0_SHOWN + timedelta(milliseconds=1),
    T0 - timedelta(days=400),
    T0 + timedelta(hours=1),
)

metadata = MetaData()
rows_table = Table(
    "filter_oracle_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=True),
    Column("status", String(16), nullable=True),
    Column("created", UTCDateTime, nullable=True),
)
COLUMNS = {
    "name": rows_table.c.name,
    "status": rows_table.c.status,
    "created": rows_table.c.created,
}

# Short texts over few characters, so that conditions and rows often meet: those LIKE
# treats specially, both cases, and a non-ASCII letter.
words = st.text(alphabet="a_%\\", max_size=2) | st.sampled_from(["A", "aA", "ä", "Ä", "日本"])
moments = st.sampled_from(MOMENTS) | st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.none() | words,
            "status": st.none() | st.sampled_from(STATUSES),
            "created": st.none() | moments,
        }
    ),
    min_size=1,
    max_size=12,
)


def conditions(
    field: str, texts: st.SearchStrategy[str], times: st.SearchStrategy[datetime]
) -> st.SearchStrategy[Cond]:
    if field == "status":
        leaf: st.SearchStrategy[Cond] = st.builds(Compare, st.just("eq"), st.sampled_from(STATUSES))
    elif field == "created":
        leaf = st.builds(Compare, st.sampled_from(["eq", "gt", "lt"]), times)
    else:
        leaf = st.builds(Compare, st.sampled_from(["eq", "contains"]), texts)
    nested = st.recursive(
        leaf,
        lambda inner: (
            st.builds(AllOf, st.lists(inner, min_size=1, max_size=3).map(tuple))
            | st.builds(AnyOf, st.lists(inner, min_size=1, max_size=3).map(tuple))
        ),
        max_leaves=6,
    )
    return leaf | nested  # a plain condition half of the time: it isolates each operator


def pieces(text: str) -> st.SearchStrategy[str]:
    """`text` or a part of it."""
    return st.integers(0, len(text)).flatmap(
        lambda start: st.integers(start, len(text)).map(lambda end: text[start:end])
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], Filter]:
    """Rows, and a filter over one or two fields whose values are often taken from them."""
    records: list[dict[str, Any]] = draw(rows)
    names = [row["name"] for row in records if row["name"] is not None]
    created = [row["created"] for row in records if row["created"] is not None]
    texts = words | st.sampled_from(names).flatmap(pieces) if names else words
    times = moments | st.sampled_from(created) if created else moments
    fields = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True, min_size=1, max_size=2))
    conditions_of = (
        FieldCondition(f, FIELDS[f].kind, draw(conditions(f, texts, times))) for f in fields
    )
    return records, Filter(tuple(conditions_of))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    metadata.create_all(database.engine)
    yield database
    metadata.drop_all(database.engine)
    database.dispose()


def sql_matches(db: Database, records: list[dict[str, Any]], flt: Filter) -> set[int]:
    """The ids the SQL selects, with the rows inserted in a transaction rolled back after."""
    with db.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(insert(rows_table), [{"id": i, **row} for i, row in enumerate(records)])
        query = select(rows_table.c.id).where(filter_clause(flt, COLUMNS))
        found = set(connection.scalars(query))
        transaction.rollback()
    return found


# The database fixture is meant to serve every example: each one rolls its rows back.
@settings(
    max_examples=300,
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_the_sql_selects_what_the_oracle_matches(
    db: Database, case: tuple[list[dict[str, Any]], Filter]
) -> None:
    records, flt = case
    expected = {i for i, row in enumerate(records) if matches(flt, row)}
    assert sql_matches(db, records, flt) == expected
