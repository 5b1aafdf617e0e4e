"""Schedule expressions: hand-checked fire times, errors, DST, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobmanager.domain.cron import CronError, parse

NOW = datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(expression: str, n: int = 3, after: datetime = NOW, tz: str | None = None) -> list[str]:
    times = parse(expression, tz).next_fire_times(n, after)
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in times]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # Quartz, the docs' example: 10:15 every day.
        ("0 15 10 * * ?", ["2026-11-28 10:15:00", "2026-11-29 10:15:00", "2026-11-30 10:15:00"]),
        # Classic 5-field, the CLI template.
        ("1 1 * * *", ["2026-11-28 01:01:00", "2026-11-29 01:01:00", "2026-11-30 01:01:00"]),
        # Last Friday of the month (Quartz 6 = FRI); 27 Nov 12:00 has just passed.
        ("0 0 12 ? * 6L", ["2026-12-25 12:00:00", "2027-01-29 12:00:00", "2027-02-26 12:00:00"]),
        ("0 0 12 ? * FRIL", ["2026-12-25 12:00:00", "2027-01-29 12:00:00", "2027-02-26 12:00:00"]),
        # Last weekday of the month: 31 Jan 2027 is a Sunday.
        ("0 0 9 LW * ?", ["2026-11-30 09:00:00", "2026-12-31 09:00:00", "2027-01-29 09:00:00"]),
        # First Monday (Quartz 2 = MON).
        ("0 0 9 ? * 2#1", ["2026-12-07 09:00:00", "2027-01-04 09:00:00", "2027-02-01 09:00:00"]),
        ("0 0 9 ? * MON#1", ["2026-12-07 09:00:00", "2027-01-04 09:00:00", "2027-02-01 09:00:00"]),
        ("*/5 * * * * ?", ["2026-11-27 13:00:05", "2026-11-27 13:00:10", "2026-11-27 13:00:15"]),
        ("0 0 0 L-3 * ?", ["2026-12-28 00:00:00", "2027-01-28 00:00:00", "2027-02-25 00:00:00"]),
        ("0 0 0 L * ?", ["2026-11-30 00:00:00", "2026-12-31 00:00:00", "2027-01-31 00:00:00"]),
        ("0 0 22-1 * * ?", ["2026-11-27 22:00:00", "2026-11-27 23:00:00", "2026-11-28 00:00:00"]),
        (
            "0 0 12 ? * FRI-MON",
            ["2026-11-28 12:00:00", "2026-11-29 12:00:00", "2026-11-30 12:00:00"],
        ),
        (
            "0 0 12 ? JAN,JUL MON-FRI 2027",
            ["2027-01-01 12:00:00", "2027-01-04 12:00:00", "2027-01-05 12:00:00"],
        ),
        ("0 0 0 29 2 ?", ["2028-02-29 00:00:00", "2032-02-29 00:00:00", "2036-02-29 00:00:00"]),
        ("30 10/20 * * * ?", ["2026-11-27 13:10:30", "2026-11-27 13:30:30", "2026-11-27 13:50:30"]),
        # Cron day-of-week: 0 and 7 are Sunday; SUN-SAT names.
        ("0 0 * * 0", ["2026-11-29 00:00:00", "2026-12-06 00:00:00", "2026-12-13 00:00:00"]),
        ("0 0 * * 7", ["2026-11-29 00:00:00", "2026-12-06 00:00:00", "2026-12-13 00:00:00"]),
        ("0 0 * * sat", ["2026-11-28 00:00:00", "2026-12-05 00:00:00", "2026-12-12 00:00:00"]),
        ("0 0 * * 5L", ["2026-12-25 00:00:00", "2027-01-29 00:00:00", "2027-02-26 00:00:00"]),
        # Cron ORs two restricted day fields: the 1st, or any Monday.
        ("0 0 1 * 1", ["2026-11-30 00:00:00", "2026-12-01 00:00:00", "2026-12-07 00:00:00"]),
        # ...and ANDs them when one starts with '*': odd days that are Mondays.
        ("0 0 */2 * 1", ["2026-12-07 00:00:00", "2026-12-21 00:00:00", "2027-01-11 00:00:00"]),
        ("@daily", ["2026-11-28 00:00:00", "2026-11-29 00:00:00", "2026-11-30 00:00:00"]),
        ("@hourly", ["2026-11-27 14:00:00", "2026-11-27 15:00:00", "2026-11-27 16:00:00"]),
    ],
)
def test_hand_checked_fire_times(expression: str, expected: list[str]) -> None:
    assert fires(expression) == expected


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # 1 Aug 2026 is a Saturday: the nearest weekday in the month is Monday the 3rd.
        ("0 0 0 1W * ?", utc(2026, 7, 31), "2026-08-03 00:00:00"),
        ("0 0 0 15W * ?", utc(2026, 8, 2), "2026-08-14 00:00:00"),  # Sat → Fri
        ("0 0 0 16W * ?", utc(2026, 8, 15), "2026-08-17 00:00:00"),  # Sun → Mon
        ("0 0 0 31W * ?", utc(2027, 1, 2), "2027-01-29 00:00:00"),  # last day Sun → Fri
        ("0 0 0 1W * ?", utc(2026, 1, 31), "2026-02-02 00:00:00"),  # Sun the 1st → Mon
        ("0 0 0 31W * ?", utc(2026, 4, 1), "2026-05-29 00:00:00"),  # no 31 April: skip
        ("0 0 0 ? * 6#5", utc(2026, 11, 1), "2027-01-29 00:00:00"),  # 5th Friday
    ],
)
def test_nearest_weekday_and_nth(expression: str, after: datetime, expected: str) -> None:
    assert fires(expression, 1, after) == [expected]


class TestDaylightSaving:
    # Berlin: 29 Mar 2026 02:00 CET → 03:00 CEST; 25 Oct 2026 03:00 CEST → 02:00 CET.
    @pytest.mark.parametrize(
        ("expression", "after", "expected"),
        [
            # A daily time in the spring-forward gap fires shifted by the gap (03:30 CEST).
            (
                "0 30 2 * * ?",
                utc(2026, 3, 27, 12),
                [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)],
            ),
            # A daily time repeated at fall-back fires once, at its first occurrence.
            (
                "0 30 2 * * ?",
                utc(2026, 10, 23, 12),
                [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)],
            ),
            # Half-hourly across spring-forward: no gap, no double.
            (
                "0 */30 * * * ?",
                utc(2026, 3, 29, 0),
                [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 30)],
            ),
        ],
    )
    def test_berlin(self, expression: str, after: datetime, expected: list[datetime]) -> None:
        assert parse(expression, "Europe/Berlin").next_fire_times(3, after) == expected

    def test_half_hourly_across_fall_back_skips_the_repeat(self) -> None:
        schedule = parse("0 */30 * * * ?", "Europe/Berlin")
        times = schedule.next_fire_times(4, utc(2026, 10, 25, 0, 0))
        assert times == [
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 2, 0),
            utc(2026, 10, 25, 2, 30),
            utc(2026, 10, 25, 3, 0),
        ]
        # Asked from inside the repeated hour, it still answers the next one after it.
        assert schedule.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 2, 0)

    def test_wall_clock_time_is_kept_across_the_change(self) -> None:
        times = parse("0 0 9 * * ?", "Europe/Berlin").next_fire_times(3, utc(2026, 3, 28))
        assert times == [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]

    def test_thirty_minute_gap(self) -> None:
        # Lord Howe: 2:00 → 2:30 on 4 Oct 2026 (+10:30 → +11:00).
        schedule = parse("0 20,35 2 * * ?", "Australia/Lord_Howe")
        times = schedule.next_fire_times(2, utc(2026, 10, 3, 15))
        assert times == [utc(2026, 10, 3, 15, 35), utc(2026, 10, 3, 15, 50)]


def test_fire_times_between_for_misfires() -> None:
    schedule = parse("0 0 * * * ?")
    assert schedule.fire_times_between(utc(2026, 1, 1, 0), utc(2026, 1, 1, 3), 10) == [
        utc(2026, 1, 1, 1),
        utc(2026, 1, 1, 2),
        utc(2026, 1, 1, 3),
    ]
    assert len(schedule.fire_times_between(utc(2026, 1, 1), utc(2027, 1, 1), 5)) == 5
    assert schedule.fire_times_between(utc(2026, 1, 1), utc(2026, 1, 1, 0, 59), 5) == []


def test_a_schedule_with_years_ends() -> None:
    schedule = parse("0 0 0 1 1 ? 2027")
    assert schedule.next_after(utc(2026, 6, 1)) == utc(2027, 1, 1)
    assert schedule.next_after(utc(2027, 1, 1)) is None
    assert schedule.next_fire_times(3, utc(2026, 6, 1)) == [utc(2027, 1, 1)]


def test_time_zone_is_applied_and_kept() -> None:
    schedule = parse(" 0  9 * * 1-5 ", "America/New_York")
    assert (schedule.expression, schedule.timezone, schedule.syntax) == (
        "0 9 * * 1-5",
        "America/New_York",
        "cron",
    )
    assert schedule.next_after(utc(2026, 11, 27, 13)) == utc(2026, 11, 27, 14)
    assert parse("0 0 9 * * ?").syntax == "quartz"
    assert parse("0 0 9 * * ?").timezone == "UTC"


def test_matches() -> None:
    schedule = parse("0 15 10 * * ?", "Europe/Berlin")
    assert schedule.matches(utc(2026, 11, 27, 9, 15))
    assert not schedule.matches(utc(2026, 11, 27, 10, 15))
    assert not schedule.matches(utc(2026, 11, 27, 9, 15) + timedelta(microseconds=1))


def test_the_end_of_time() -> None:
    assert parse("* * * * *").next_after(datetime.max.replace(tzinfo=UTC)) is None
    assert parse("0 0 0 1 1 ?").next_after(datetime(9999, 6, 1, tzinfo=UTC)) is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse("* * * * *").next_after(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("", "got 0"),
        ("* * * *", "got 4"),
        ("0 0 0 0 * * * *", "got 8"),
        ("60 * * * * ?", "second: 60 is outside 0-59"),
        ("0 0 24 * * ?", "hour: 24 is outside 0-23"),
        ("0 0 0 32 * ?", "day-of-month: 32"),
        ("0 0 0 ? 13 *", "month: 13"),
        ("0 0 0 ? * 8", "day-of-week: 8 is outside 1-7"),
        ("0 0 * * 8", "day-of-week: 8 is outside 0-7"),
        ("0 0 0 ? FOO *", "month: 'FOO' is not a number or name"),
        ("0 0 0 ? * 2#6", "'#' needs 1-5"),
        ("0 0 0 L-31 * ?", "offset 31"),
        ("*/0 * * * * ?", "step must be at least 1"),
        ("0 ? * * * ?", "minute: '?' is only allowed"),
        ("0 0 0 1 * MON", "use '?'"),
        ("0 0 0 ? * * 1969", "year: 1969"),
        ("0 0 0 30 2 ?", "never fires"),
        ("0 0 0 1,,2 * ?", "cannot read ''"),
        ("0 0 0 1-2-3 * ?", "cannot read"),
        ("0 0 0 1W-3 * ?", "'1W' is not a number"),
        ("@reboot", "got 1"),
        ("0 0 0 ? * " + "1," * 600 + "1", "longer than 1000"),
        ("*/12345 * * * *", "cannot read"),
    ],
)
def test_errors_say_what_is_wrong(expression: str, words: str) -> None:
    with pytest.raises(CronError, match=words.replace("?", r"\?").replace("*", r"\*")):
        parse(expression)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_unknown_time_zone(tz: str) -> None:
    with pytest.raises(CronError, match="time zone"):
        parse("* * * * *", tz)


# ---------------------------------------------------------------- properties

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)


def numbers(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(str)


def field_text(low: int, high: int) -> st.SearchStrategy[str]:
    single = numbers(low, high)
    ranged = st.tuples(st.integers(low, high - 1), st.integers(1, high - low)).map(
        lambda p: f"{p[0]}-{min(p[0] + p[1], high)}"
    )
    stepped = st.tuples(st.sampled_from(["*", str(low)]), st.integers(1, 10)).map(
        lambda p: f"{p[0]}/{p[1]}"
    )
    item = single | ranged | stepped
    return st.just("*") | item | st.lists(item, min_size=2, max_size=3).map(",".join)


@st.composite
def cron5(draw: st.DrawFn) -> str:
    dom, dow = draw(field_text(1, 28)), draw(field_text(0, 6))
    if draw(st.booleans()):
        dom = "*"
    else:
        dow = "*"
    return " ".join(
        [draw(field_text(0, 59)), draw(field_text(0, 23)), dom, draw(field_text(1, 12)), dow]
    )


@st.composite
def quartz(draw: st.DrawFn) -> str:
    special_dom = st.sampled_from(["L", "LW", "L-2", "15W", "1W", "?"])
    special_dow = st.sampled_from(["6L", "2#1", "MON-FRI", "SAT,SUN", "?", "L"])
    use_dom = draw(st.booleans())
    dom = draw(special_dom | field_text(1, 31)) if use_dom else "?"
    dow = "?" if use_dom else draw(special_dow | field_text(1, 7))
    parts = [draw(field_text(0, 59)), draw(field_text(0, 59)), draw(field_text(0, 23))]
    return " ".join([*parts, dom, draw(field_text(1, 12)), dow])


@settings(max_examples=300)
@given(cron5(), instants)
def test_five_fields_agree_with_croniter_in_utc(expression: str, after: datetime) -> None:
    expected = croniter(expression, after).get_next(datetime)
    assert parse(expression).next_after(after) == expected


@settings(max_examples=200)
@given(quartz() | cron5(), instants, st.sampled_from([None, "Europe/Berlin", "America/Santiago"]))
def test_next_after_is_later_and_matches(expression: str, after: datetime, tz: str | None) -> None:
    try:
        schedule = parse(expression, tz)
    except CronError:
        assume(False)
        raise
    times = schedule.next_fire_times(3, after)
    assert all(a < b for a, b in zip([after, *times], times, strict=False))
    fields_only = parse(expression)  # in UTC: matches() checks the wall-clock fields
    for t in times:
        assert t.tzinfo is UTC
        wall = t.astimezone(schedule.zone).replace(tzinfo=UTC)
        # A wall time skipped by a spring-forward gap (1 h in these zones) fires shifted.
        assert schedule.matches(t) or fields_only.matches(wall - timedelta(hours=1))


@settings(max_examples=100)
@given(quartz(), instants)
def test_nothing_is_skipped_in_utc(expression: str, after: datetime) -> None:
    try:
        schedule = parse(expression)
    except CronError:
        assume(False)
        raise
    nxt = schedule.next_after(after)
    assert nxt is not None
    assert schedule.matches(nxt)
    # Every whole second between them, sampled, does not match.
    probe = after.replace(microsecond=0) + timedelta(seconds=1)
    step = max(timedelta(seconds=1), (nxt - probe) / 50)
    while probe < nxt:
        assert not schedule.matches(probe)
        probe = (probe + step).replace(microsecond=0)


def brute_force(expression: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Every matching wall minute between start and end, each at its first instant."""
    from zoneinfo import ZoneInfo

    fields_only = parse(expression)  # in UTC: matches() then checks the wall fields
    zone = ZoneInfo(tz)
    wall = start.astimezone(zone).replace(tzinfo=None) - timedelta(hours=3)
    found = set()
    while wall < end.astimezone(zone).replace(tzinfo=None) + timedelta(hours=3):
        if fields_only.matches(wall.replace(tzinfo=UTC)):
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            if start < instant <= end:
                found.add(instant)
        wall += timedelta(minutes=1)
    return sorted(found)


@pytest.mark.parametrize(
    ("tz", "transition"),
    [
        ("Europe/Berlin", utc(2026, 3, 29, 1)),
        ("Europe/Berlin", utc(2026, 10, 25, 1)),
        ("Australia/Lord_Howe", utc(2026, 10, 3, 15, 30)),
        ("Australia/Lord_Howe", utc(2026, 4, 4, 15)),
        ("America/Santiago", utc(2026, 9, 6, 4)),  # midnight does not exist
        ("America/Santiago", utc(2026, 4, 5, 3)),
    ],
)
@pytest.mark.parametrize(
    "expression",
    ["0 */7 * * * ?", "0 20,35,50 0-3 * * ?", "0 0 0 * * ?", "0 30 2 * * ?", "15,45 * * * *"],
)
def test_around_transitions_every_matching_wall_time_fires_once(
    tz: str, transition: datetime, expression: str
) -> None:
    start, end = transition - timedelta(hours=26), transition + timedelta(hours=26)
    schedule = parse(expression, tz)
    assert schedule.fire_times_between(start, end, 10_000) == brute_force(
        expression, tz, start, end
    )
