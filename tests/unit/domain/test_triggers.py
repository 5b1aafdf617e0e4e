"""Data-arrival triggers, pure rules: which file names count, when arrivals have settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobmanager.domain.triggers import Trigger

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pattern", "name", "counts"),
    [
        ("*", "anything.bin", True),
        ("*.csv", "day1.csv", True),
        ("*.csv", "day1.CSV", False),  # case-sensitive, as Data Exchange names are
        ("*.csv", "day1.csv.tmp", False),
        ("day?.csv", "day7.csv", True),
        ("day[0-9].csv", "dayX.csv", False),
    ],
)
def test_the_pattern_is_a_case_sensitive_glob_over_the_name(
    pattern: str, name: str, counts: bool
) -> None:
    assert Trigger("f", pattern).matches(name) is counts


def test_arrivals_settle_once_the_debounce_has_passed_since_the_last() -> None:
    trigger = Trigger("f", debounce_seconds=30)
    assert not trigger.is_settled(T0, T0 + timedelta(seconds=29.9))
    assert trigger.is_settled(T0, T0 + timedelta(seconds=30))
    assert Trigger("f").is_settled(T0, T0)  # no debounce: at once
