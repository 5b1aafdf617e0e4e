"""The list filter language: parsing, errors, evaluation, and round trips."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobmanager.domain.filters import (
    DATETIME,
    STRING,
    AllOf,
    AnyOf,
    Compare,
    Cond,
    FieldCondition,
    Filter,
    FilterError,
    enum_field,
    matches,
    parse_filter,
    to_json,
)

STATUSES = ("SUBMITTED", "RUNNING", "STOPPED", "FAILED", "SUCCEEDED")
JOB_FIELDS = {
    "modelId": STRING,
    "message": STRING,
    "status": enum_field(STATUSES),
    "creationDate": DATETIME,
}
SPEC_EXAMPLE = (
    '{"message":{"contains":"Error"},"status":{"or":[{"eq":"STOPPED"},{"eq":"FAILED"}]},'
    '"creationDate":{"after":"2018-06-23T20:09:00Z"}}'
)


def job(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "modelId": "m1",
        "message": "",
        "status": "RUNNING",
        "creationDate": datetime(2020, 1, 1, tzinfo=UTC),
    }
    base.update(kw)
    return base


def test_spec_example_parses_to_the_tree() -> None:
    flt = parse_filter(SPEC_EXAMPLE, JOB_FIELDS)
    assert flt == Filter(
        (
            FieldCondition("message", "string", Compare("contains", "Error")),
            FieldCondition(
                "status", "enum", AnyOf((Compare("eq", "STOPPED"), Compare("eq", "FAILED")))
            ),
            FieldCondition(
                "creationDate", "datetime", Compare("gt", datetime(2018, 6, 23, 20, 9, tzinfo=UTC))
            ),
        )
    )


def test_spec_example_matches() -> None:
    flt = parse_filter(SPEC_EXAMPLE, JOB_FIELDS)
    assert matches(flt, job(message="Error in x", status="FAILED"))
    assert matches(flt, job(message="An Error", status="STOPPED"))
    assert not matches(flt, job(message="an error", status="FAILED"))  # case-sensitive
    assert not matches(flt, job(message="Error", status="RUNNING"))
    old = datetime(2018, 6, 23, 20, 9, tzinfo=UTC)
    assert not matches(flt, job(message="Error", status="FAILED", creationDate=old))


def test_what_the_official_cli_sends() -> None:
    text = '{"message":{"contains":"x"},"status":{"eq":"RUNNING"},"modelId":{"eq":"m1"}}'
    flt = parse_filter(text, JOB_FIELDS)
    assert matches(flt, job(message="axb"))
    assert not matches(flt, job(message="axb", modelId="m2"))


@pytest.mark.parametrize("text", [None, "", "   ", "{}"])
def test_no_filter_matches_everything(text: str | None) -> None:
    assert parse_filter(text, JOB_FIELDS) == Filter()
    assert matches(parse_filter(text, JOB_FIELDS), job())


def test_plain_value_means_equals() -> None:
    flt = parse_filter('{"modelId":"m1"}', JOB_FIELDS)
    assert flt.fields[0].condition == Compare("eq", "m1")


def test_enum_values_are_case_insensitive_and_canonical() -> None:
    flt = parse_filter('{"status":"failed"}', JOB_FIELDS)
    assert flt.fields[0].condition == Compare("eq", "FAILED")


def test_enum_field_takes_str_enum_members() -> None:
    from enum import StrEnum

    class Colour(StrEnum):
        RED = "RED"

    spec = enum_field(Colour)
    assert spec.choices == ("RED",)
    assert matches(parse_filter('{"c":"red"}', {"c": spec}), {"c": Colour.RED})


def test_several_operators_in_one_object_are_anded() -> None:
    text = '{"creationDate":{"after":"2020-01-01","before":"2020-02-01T00:00:00.000+01:00"}}'
    cond = parse_filter(text, JOB_FIELDS).fields[0].condition
    assert isinstance(cond, AllOf)
    assert cond.conditions[1] == Compare("lt", datetime(2020, 1, 31, 23, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2018-06-23T20:09:00", datetime(2018, 6, 23, 20, 9, tzinfo=UTC)),
        ("2018-06-23T20:09:00Z", datetime(2018, 6, 23, 20, 9, tzinfo=UTC)),
        ("2018-06-23T20:09:00.123Z", datetime(2018, 6, 23, 20, 9, 0, 123000, tzinfo=UTC)),
        ("2018-06-23T22:09:00+02:00", datetime(2018, 6, 23, 20, 9, tzinfo=UTC)),
        ("2018-06-23", datetime(2018, 6, 23, tzinfo=UTC)),
    ],
)
def test_dates(text: str, parsed: datetime) -> None:
    flt = parse_filter(json.dumps({"creationDate": {"eq": text}}), JOB_FIELDS)
    assert flt.fields[0].condition == Compare("eq", parsed)


def test_records_may_hold_naive_dates_or_text() -> None:
    flt = parse_filter('{"creationDate":{"lt":"2020-01-01T01:00:00+01:00"}}', JOB_FIELDS)
    assert not matches(flt, job(creationDate=datetime(2020, 1, 1)))
    assert matches(flt, job(creationDate="2019-12-31T23:59:59.999Z"))
    plus2 = timezone(timedelta(hours=2))
    assert matches(flt, job(creationDate=datetime(2020, 1, 1, 1, tzinfo=plus2)))


STORED = datetime(2020, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)  # shown as ...00.123Z


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"eq": "2020-01-01T12:00:00.123Z"}, True),
        ({"eq": "2020-01-01T12:00:00.123456Z"}, False),
        ({"after": "2020-01-01T12:00:00.123Z"}, False),
        ({"after": "2020-01-01T12:00:00.1229Z"}, True),
        ({"before": "2020-01-01T12:00:00.123Z"}, False),
        ({"before": "2020-01-01T12:00:00.1231Z"}, True),
        ({"before": "2020-01-01T12:00:00.124Z"}, True),
    ],
)
def test_dates_compare_as_shown_to_the_millisecond(condition: object, holds: bool) -> None:
    flt = parse_filter(json.dumps({"creationDate": condition}), JOB_FIELDS)
    assert matches(flt, job(creationDate=STORED)) is holds


def test_missing_or_null_field_matches_no_comparison() -> None:
    flt = parse_filter('{"message":{"contains":""}}', JOB_FIELDS)
    assert matches(flt, job(message="x"))
    assert not matches(flt, job(message=None))
    assert not matches(flt, {"status": "RUNNING"})


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("{not json", None, "not valid JSON"),
        ("[1,2]", None, "JSON object"),
        ('"x"', None, "JSON object"),
        ('{"a":1,"a":2}', None, "duplicate"),
        ('{"message": NaN}', None, "not valid JSON"),
        ('{"owner":"x"}', "owner", "unknown field"),
        ('{"message":{"gt":"a"}}', "message", "not allowed on a string"),
        ('{"status":{"contains":"RUN"}}', "status", "not allowed on a enum"),
        ('{"creationDate":{"contains":"2018"}}', "creationDate", "not allowed"),
        ('{"creationDate":{"after":"yesterday"}}', "creationDate", "ISO-8601"),
        ('{"creationDate":{"after":1529784540}}', "creationDate", "string value"),
        ('{"status":"BOGUS"}', "status", "not one of"),
        ('{"message":{"like":"x"}}', "message", "unknown operator"),
        ('{"message":{}}', "message", "empty condition"),
        ('{"message":{"or":{"eq":"a"}}}', "message", "non-empty list"),
        ('{"message":{"and":[]}}', "message", "non-empty list"),
        ('{"message":null}', "message", "string value"),
        ('{"message":["a"]}', "message", "string value"),
        ('{"message":{"eq":{"eq":"a"}}}', "message", "string value"),
    ],
)
def test_errors_name_the_field_and_the_problem(text: str, field: str | None, words: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text, JOB_FIELDS)
    assert info.value.field == field
    assert words in str(info.value)


def test_deep_nesting_is_refused() -> None:
    deep = '{"eq":"a"}'
    for _ in range(20):
        deep = '{"or":[' + deep + "]}"
    with pytest.raises(FilterError, match="nested"):
        parse_filter('{"message":' + deep + "}", JOB_FIELDS)
    with pytest.raises(FilterError):
        parse_filter("[" * 100_000 + "]" * 100_000, JOB_FIELDS)


def test_too_many_conditions_are_refused() -> None:
    many = json.dumps({"message": {"or": [{"eq": str(i)} for i in range(300)]}})
    with pytest.raises(FilterError, match="conditions"):
        parse_filter(many, JOB_FIELDS)


def test_too_long_text_is_refused() -> None:
    with pytest.raises(FilterError, match="longer"):
        parse_filter(json.dumps({"message": "x" * 20_000}), JOB_FIELDS)


# ---------------------------------------------------------------- properties

words = st.sampled_from(["", "a", "Error", "err", "Stop", "ab", "b"])
dates = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def conds_for(field: str) -> st.SearchStrategy[Cond]:
    if field == "status":
        leaf: st.SearchStrategy[Cond] = st.builds(Compare, st.just("eq"), st.sampled_from(STATUSES))
    elif field == "creationDate":
        leaf = st.builds(Compare, st.sampled_from(["eq", "gt", "lt"]), dates)
    else:
        leaf = st.builds(Compare, st.sampled_from(["eq", "contains"]), words)
    return st.recursive(
        leaf,
        lambda inner: (
            st.builds(AllOf, st.lists(inner, min_size=1, max_size=3).map(tuple))
            | st.builds(AnyOf, st.lists(inner, min_size=1, max_size=3).map(tuple))
        ),
        max_leaves=8,
    )


@st.composite
def filters(draw: st.DrawFn) -> Filter:
    names = draw(st.lists(st.sampled_from(sorted(JOB_FIELDS)), unique=True, max_size=4))
    return Filter(tuple(FieldCondition(n, JOB_FIELDS[n].kind, draw(conds_for(n))) for n in names))


records = st.fixed_dictionaries(
    {
        "modelId": words,
        "message": words,
        "status": st.sampled_from(STATUSES),
        "creationDate": dates,
    }
)


@given(filters())
def test_generated_filters_round_trip(flt: Filter) -> None:
    assert parse_filter(to_json(flt), JOB_FIELDS) == flt


@given(st.lists(conds_for("message"), min_size=1, max_size=4), records)
def test_or_is_the_union_and_and_the_intersection(
    conds: list[Cond], rec: dict[str, object]
) -> None:
    def one(c: Cond) -> bool:
        return matches(Filter((FieldCondition("message", "string", c),)), rec)

    any_of = AnyOf(tuple(conds))
    all_of = AllOf(tuple(conds))
    assert one(any_of) == any(one(c) for c in conds)
    assert one(all_of) == all(one(c) for c in conds)


@given(filters(), filters(), records)
def test_top_level_fields_are_anded(a: Filter, b: Filter, rec: dict[str, object]) -> None:
    names_a = {fc.field for fc in a.fields}
    b_only = Filter(tuple(fc for fc in b.fields if fc.field not in names_a))
    both = Filter(a.fields + b_only.fields)
    assert matches(both, rec) == (matches(a, rec) and matches(b_only, rec))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["eq", "or", "and", "gt", "after", "2020-01-01", "RUNNING"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["eq", "contains", "gt", "after", "lt", "before", "and", "or", "x"])
            | st.sampled_from(sorted(JOB_FIELDS)),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)


@given(json_values)
def test_arbitrary_json_raises_only_filter_error(value: object) -> None:
    try:
        flt = parse_filter(json.dumps(value), JOB_FIELDS)
    except FilterError:
        return
    matches(flt, job())


@given(st.text(max_size=40))
def test_arbitrary_text_raises_only_filter_error(text: str) -> None:
    with contextlib.suppress(FilterError):
        parse_filter(text, JOB_FIELDS)
