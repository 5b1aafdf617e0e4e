"""The fire times a schedule form shows as an expression is typed (domain/cron.preview)."""

from __future__ import annotations

from datetime import UTC, datetime

from jobmanager.domain.cron import FirePreview, preview

NOW = datetime(2026, 3, 27, 22, 10, tzinfo=UTC)


def test_five_fire_times_of_a_classic_expression_in_its_zone() -> None:
    shown = preview("30 1 * * *", "Europe/Berlin", NOW)
    assert shown.problem == ""
    assert shown.syntax == "cron"
    # 01:30 in Berlin: CET (UTC+1) until the switch at 02:00 on 29 March, then CEST (UTC+2).
    assert [t.isoformat() for t in shown.times] == [
        "2026-03-28T00:30:00+00:00",
        "2026-03-29T00:30:00+00:00",
        "2026-03-29T23:30:00+00:00",
        "2026-03-30T23:30:00+00:00",
        "2026-03-31T23:30:00+00:00",
    ]


def test_quartz_and_a_count_of_its_own() -> None:
    shown = preview("0 0/15 * ? * MON-FRI", None, NOW, count=2)
    assert shown.syntax == "quartz"
    assert [t.isoformat() for t in shown.times] == [
        "2026-03-27T22:15:00+00:00",
        "2026-03-27T22:30:00+00:00",
    ]


def test_what_is_being_typed_answers_its_problem_not_an_error() -> None:
    assert preview("", "UTC", NOW) == FirePreview(
        problem="expected 5 fields (cron) or 6-7 fields (Quartz, seconds first), got 0"
    )
    assert preview("61 * * * *", "UTC", NOW).problem == "minute: 61 is outside 0-59 in '61'"
    assert preview("0 0 * * *", "Mars/Olympus", NOW).problem == "unknown time zone 'Mars/Olympus'"
    assert preview("0 0 30 2 *", "UTC", NOW).problem.startswith("the expression never fires")


def test_a_schedule_that_ends_shows_what_is_left() -> None:
    shown = preview("0 0 12 1 1 ? 2027", "UTC", NOW)
    assert [t.isoformat() for t in shown.times] == ["2027-01-01T12:00:00+00:00"]
