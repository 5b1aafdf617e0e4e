"""Schedule expressions: Quartz (6/7 fields, seconds first) and classic 5-field cron.

``parse(expression, tz)`` checks an expression and answers a
:class:`CronSchedule`, whose methods are pure functions of the instant they are
given (aware datetimes in, aware UTC datetimes out).

Syntax, by number of fields:

- 5 fields, classic cron: ``minute hour day-of-month month day-of-week``;
  fires at second 0; day-of-week 0-7 with 0 and 7 = SUN. ``@hourly``,
  ``@daily``/``@midnight``, ``@weekly``, ``@monthly``, ``@yearly``/``@annually``
  stand for their 5-field forms.
- 6 or 7 fields, Quartz: ``second minute hour day-of-month month day-of-week
  [year]``; day-of-week 1-7 with 1 = SUN, 7 = SAT; years 1970-2099.

Both accept ``*``, lists ``a,b``, ranges ``a-b`` (wrapping: ``FRI-MON``,
``22-2``), steps ``*/n``, ``a/n``, ``a-b/n``, names ``JAN``-``DEC`` and
``SUN``-``SAT``, and ``?`` (any) in the two day fields; in day-of-month
``L`` (last day), ``L-n`` (n days before it), ``nW`` (weekday nearest day n,
within the month), ``LW`` (last weekday); in day-of-week ``dL`` (last d of
the month), ``d#k`` (k-th d of the month), ``L`` alone (Saturday).

The day fields combine as in Vixie cron: when either starts with ``*`` or
``?`` a day must match both, otherwise either. Quartz itself requires ``?`` in
one of them, so a Quartz expression restricting both is refused.

Time zones and daylight saving: the fields are wall-clock times in the
schedule's IANA zone. A wall time skipped by a spring-forward transition fires
at the same wall time shifted by the gap (02:30 → 03:30, as Quartz does); a
wall time that occurs twice at fall-back fires once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Syntax = Literal["quartz", "cron"]

MIN_YEAR, MAX_YEAR = 1970, 2099
MAX_EXPRESSION_CHARS = 1_000
_SECOND = timedelta(seconds=1)
_MAX_GAP = timedelta(hours=3)  # longer than any daylight-saving jump
# The Gregorian calendar repeats every 400 years: no match in that span means none ever.
_CALENDAR_CYCLE_YEARS = 400

_MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_QUARTZ_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_CRON_DAY_NAMES = {name: value - 1 for name, value in _QUARTZ_DAY_NAMES.items()}
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_ITEM = re.compile(r"^(?P<base>\*|\?|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:/(?P<step>[0-9]{1,4}))?$")


class CronError(ValueError):
    """An expression or time zone that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class _FieldRange:
    label: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)


_SECONDS = _FieldRange("second", 0, 59)
_MINUTES = _FieldRange("minute", 0, 59)
_HOURS = _FieldRange("hour", 0, 23)
_DAYS = _FieldRange("day-of-month", 1, 31)
_MONTHS = _FieldRange("month", 1, 12, _MONTH_NAMES)
_YEARS = _FieldRange("year", MIN_YEAR, MAX_YEAR)
_QUARTZ_DOW = _FieldRange("day-of-week", 1, 7, _QUARTZ_DAY_NAMES)
_CRON_DOW = _FieldRange("day-of-week", 0, 7, _CRON_DAY_NAMES)


# ---------------------------------------------------------------- field parsing


def _value(text: str, rng: _FieldRange, item: str) -> int:
    number = int(text) if text.isdigit() else rng.names.get(text)
    if number is None:
        raise CronError(f"{rng.label}: '{text}' is not a number or name in '{item}'")
    if not rng.low <= number <= rng.high:
        raise CronError(f"{rng.label}: {number} is outside {rng.low}-{rng.high} in '{item}'")
    return number


def _item_values(item: str, rng: _FieldRange) -> list[int]:
    """Values of one comma-separated item: ``*``, ``a``, ``a-b``, each with ``/step``."""
    match = _ITEM.match(item)
    if match is None:
        raise CronError(f"{rng.label}: cannot read '{item}'")
    base, step_text = match["base"], match["step"]
    step = int(step_text) if step_text else 1
    if step < 1:
        raise CronError(f"{rng.label}: step must be at least 1 in '{item}'")
    if base in ("*", "?"):
        start, end = rng.low, rng.high
    elif "-" in base:
        low_text, high_text = base.split("-")
        start, end = _value(low_text, rng, item), _value(high_text, rng, item)
    else:
        start = _value(base, rng, item)
        end = rng.high if step_text else start
    span = rng.high - rng.low + 1
    count = (end - start) % span + 1  # a range may wrap past the field's end
    return [rng.low + (start - rng.low + i) % span for i in range(0, count, step)]


def _parse_set(text: str, rng: _FieldRange) -> tuple[int, ...]:
    if "?" in text:
        raise CronError(f"{rng.label}: '?' is only allowed in day-of-month or day-of-week")
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item_values(item, rng))
    return tuple(sorted(values))


@dataclass(frozen=True)
class _DaySpec:
    """Both day fields, read; ``weekdays`` etc. use Python numbering (0 = Monday)."""

    days: frozenset[int] = frozenset()
    last_minus: frozenset[int] = frozenset()  # L-n; L is L-0
    nearest_weekday: frozenset[int] = frozenset()  # nW
    last_weekday_of_month: bool = False  # LW
    weekdays: frozenset[int] = frozenset()
    last_weekday: frozenset[int] = frozenset()  # dL
    nth_weekday: frozenset[tuple[int, int]] = frozenset()  # d#k
    both_required: bool = True

    def days_of(self, year: int, month: int) -> tuple[int, ...]:
        first_weekday, length = calendar.monthrange(year, month)
        by_dom = self._by_day_of_month(year, month, length)
        by_dow = {d for d in range(1, length + 1) if self._weekday_ok(d, first_weekday, length)}
        chosen = by_dom & by_dow if self.both_required else by_dom | by_dow
        return tuple(sorted(chosen))

    def _by_day_of_month(self, year: int, month: int, length: int) -> set[int]:
        chosen = {d for d in self.days if d <= length}
        chosen.update(length - n for n in self.last_minus if length - n >= 1)
        chosen.update(
            _nearest_weekday(year, month, d, length) for d in self.nearest_weekday if d <= length
        )
        if self.last_weekday_of_month:
            chosen.add(_nearest_weekday(year, month, length, length))
        return chosen

    def _weekday_ok(self, day: int, first_weekday: int, length: int) -> bool:
        weekday = (first_weekday + day - 1) % 7
        return (
            weekday in self.weekdays
            or (weekday in self.last_weekday and day + 7 > length)
            or (weekday, (day - 1) // 7 + 1) in self.nth_weekday
        )


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """Quartz ``W``: the Monday-Friday nearest ``day``, never leaving the month."""
    weekday = calendar.weekday(year, month, day)
    if weekday == 5:  # Saturday → Friday, or Monday when the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday → Monday, or Friday when the last day
        return day + 1 if day < length else day - 2
    return day


def _parse_day_of_month(text: str) -> _DaySpec:
    days: set[int] = set()
    last_minus: set[int] = set()
    nearest: set[int] = set()
    for item in text.split(","):
        if item == "LW":
            continue
        if m := re.fullmatch(r"L(?:-([0-9]+))?", item):
            offset = int(m[1] or 0)
            if offset > 30:
                raise CronError(f"day-of-month: offset {offset} is more than 30 in '{item}'")
            last_minus.add(offset)
        elif m := re.fullmatch(r"([0-9]+)W", item):
            nearest.add(_value(m[1], _DAYS, item))
        else:
            days.update(_item_values(item, _DAYS))
    return _DaySpec(
        days=frozenset(days),
        last_minus=frozenset(last_minus),
        nearest_weekday=frozenset(nearest),
        last_weekday_of_month="LW" in text.split(","),
    )


def _parse_day_of_week(text: str, syntax: Syntax, spec: _DaySpec) -> _DaySpec:
    rng = _QUARTZ_DOW if syntax == "quartz" else _CRON_DOW
    offset = 5 if syntax == "quartz" else 6  # to Python's 0 = Monday

    def py(value: int) -> int:
        return (value + offset) % 7

    weekdays: set[int] = set()
    last: set[int] = set()
    nth: set[tuple[int, int]] = set()
    for item in text.split(","):
        if item == "L":
            weekdays.add(5)  # Saturday, the last day of a Quartz week
        elif m := re.fullmatch(r"([A-Z0-9]+)L", item):
            last.add(py(_value(m[1], rng, item)))
        elif m := re.fullmatch(r"([A-Z0-9]+)#([0-9]+)", item):
            if not 1 <= int(m[2]) <= 5:
                raise CronError(f"day-of-week: '#' needs 1-5 in '{item}'")
            nth.add((py(_value(m[1], rng, item)), int(m[2])))
        else:
            weekdays.update(py(v) for v in _item_values(item, rng))
    return replace(
        spec, weekdays=frozenset(weekdays), last_weekday=frozenset(last), nth_weekday=frozenset(nth)
    )


def _parse_days(dom: str, dow: str, syntax: Syntax) -> _DaySpec:
    dom_any, dow_any = dom.startswith(("*", "?")), dow.startswith(("*", "?"))
    if syntax == "quartz" and not (dom_any or dow_any):
        raise CronError("use '?' in day-of-month or day-of-week: Quartz cannot restrict both")
    spec = _parse_day_of_week(dow, syntax, _parse_day_of_month(dom))
    return replace(spec, both_required=dom_any or dow_any)


# ---------------------------------------------------------------- the schedule


def _next_in(values: tuple[int, ...], at_least: int) -> int | None:
    index = bisect_left(values, at_least)
    return values[index] if index < len(values) else None


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression in a time zone. Build it with :func:`parse`."""

    expression: str
    timezone: str
    syntax: Syntax
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...] | None
    day_spec: _DaySpec = field(repr=False)
    zone: ZoneInfo = field(repr=False, compare=False)

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``, in UTC; None when it never fires again."""
        after = _utc(after)
        try:
            wall = after.astimezone(self.zone).replace(tzinfo=None, microsecond=0) + _SECOND
            wall -= self._recent_gap(after)
        except OverflowError:  # at the ends of datetime's range
            return None
        first_shifted: datetime | None = None
        while (candidate := self._next_wall(wall)) is not None:
            instant, exists = self._resolve(candidate)
            if instant > after:
                if exists:
                    return min(instant, first_shifted or instant)
                first_shifted = first_shifted or instant
            wall = candidate + _SECOND
        return first_shifted

    def next_fire_times(self, n: int, after: datetime) -> list[datetime]:
        """The next ``n`` fire times after ``after`` (fewer if the schedule ends)."""
        return self.fire_times_between(after, None, n)

    def fire_times_between(
        self, start: datetime, end: datetime | None, limit: int
    ) -> list[datetime]:
        """Fire times t with ``start < t <= end`` (no end: unbounded), at most ``limit``."""
        times: list[datetime] = []
        end_utc = None if end is None else _utc(end)
        current: datetime | None = _utc(start)
        while len(times) < limit and current is not None:
            current = self.next_after(current)
            if current is None or (end_utc is not None and current > end_utc):
                break
            times.append(current)
        return times

    def matches(self, instant: datetime) -> bool:
        """Whether the wall clock at ``instant`` in the schedule's zone fits every field."""
        wall = _utc(instant).astimezone(self.zone).replace(tzinfo=None)
        return wall.microsecond == 0 and self._next_wall(wall) == wall

    def _next_wall(self, start: datetime) -> datetime | None:
        """The first naive wall-clock time at or after ``start`` that fits every field."""
        day = self._next_day(start.date())
        from_time = (start.hour, start.minute, start.second)
        while day is not None:
            if day != start.date():
                from_time = (0, 0, 0)
            time_of_day = self._next_time_of_day(*from_time)
            if time_of_day is not None:
                return datetime.combine(day, time_of_day)
            day = self._next_day(day + timedelta(days=1)) if day < date.max else None
        return None

    def _next_day(self, start: date) -> date | None:
        """The first date at or after ``start`` whose year, month and day fit."""
        y, mo, d = start.year, start.month, start.day
        last_year = self.years[-1] if self.years else y + _CALENDAR_CYCLE_YEARS
        while y <= min(last_year, date.max.year):
            if self.years is not None and y not in self.years:
                next_year = _next_in(self.years, y)
                if next_year is None:
                    return None
                y, mo, d = next_year, 1, 1
                continue
            month = _next_in(self.months, mo)
            if month is None:
                y, mo, d = y + 1, 1, 1
                continue
            if month != mo:
                mo, d = month, 1
            day = _next_in(_days_of(self.day_spec, y, mo), d)
            if day is not None:
                return date(y, mo, day)
            y, mo, d = (y + 1, 1, 1) if mo == 12 else (y, mo + 1, 1)
        return None

    def _next_time_of_day(self, hour: int, minute: int, second: int) -> time | None:
        """The first time of day at or after hour:minute:second that fits."""
        for h in self.hours[bisect_left(self.hours, hour) :]:
            from_minute = minute if h == hour else 0
            for m in self.minutes[bisect_left(self.minutes, from_minute) :]:
                s = _next_in(self.seconds, second if (h, m) == (hour, minute) else 0)
                if s is not None:
                    return time(h, m, s)
        return None

    def _recent_gap(self, after: datetime) -> timedelta:
        """How far the clock sprang forward in the hours before ``after`` (usually zero).

        Wall times skipped by that gap fire shifted by it, possibly after ``after``
        though their wall time is before it: the search must start that much earlier.
        """
        offset_now = after.astimezone(self.zone).utcoffset()
        offset_before = (after - _MAX_GAP).astimezone(self.zone).utcoffset()
        if offset_now is None or offset_before is None:
            return timedelta(0)
        return max(offset_now - offset_before, timedelta(0))

    def _resolve(self, wall: datetime) -> tuple[datetime, bool]:
        """The instant of a wall time (first occurrence), and whether the wall time exists."""
        instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
        return instant, instant.astimezone(self.zone).replace(tzinfo=None) == wall


@lru_cache(maxsize=512)
def _days_of(spec: _DaySpec, year: int, month: int) -> tuple[int, ...]:
    return spec.days_of(year, month)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("cron: datetimes must be timezone-aware")
    return moment.astimezone(UTC)


# ---------------------------------------------------------------- parse


def parse(expression: str, tz: str | None = None) -> CronSchedule:
    """Check ``expression`` in IANA zone ``tz`` (None = UTC). Raises :class:`CronError`."""
    zone = _zone(tz)
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise CronError(f"longer than {MAX_EXPRESSION_CHARS} characters")
    text = " ".join(expression.split())
    fields = _MACROS.get(text.lower(), text).upper().split()
    if len(fields) == 5:
        syntax: Syntax = "cron"
        fields = ["0", *fields]
    elif len(fields) in (6, 7):
        syntax = "quartz"
    else:
        raise CronError(
            f"expected 5 fields (cron) or 6-7 fields (Quartz, seconds first), got {len(fields)}"
        )
    schedule = CronSchedule(
        expression=text,
        timezone=zone.key,
        syntax=syntax,
        seconds=_parse_set(fields[0], _SECONDS),
        minutes=_parse_set(fields[1], _MINUTES),
        hours=_parse_set(fields[2], _HOURS),
        months=_parse_set(fields[4], _MONTHS),
        years=_parse_set(fields[6], _YEARS) if len(fields) == 7 else None,
        day_spec=_parse_days(fields[3], fields[5], syntax),
        zone=zone,
    )
    if schedule._next_day(date(MIN_YEAR, 1, 1)) is None:
        raise CronError("the expression never fires (no date matches every field)")
    return schedule


def _zone(tz: str | None) -> ZoneInfo:
    if tz is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise CronError(f"unknown time zone '{tz}'") from None


# ---------------------------------------------------------------- preview


@dataclass(frozen=True)
class FirePreview:
    """What a schedule form shows while an expression is typed: fire times, or the problem."""

    times: tuple[datetime, ...] = ()
    syntax: Syntax | None = None
    problem: str = ""


def preview(expression: str, tz: str | None, now: datetime, count: int = 5) -> FirePreview:
    """The next `count` fire times after `now` (UTC), or why `expression` in `tz` cannot fire.

    Never raises for what a person may type: a half-typed expression answers its problem.
    """
    try:
        schedule = parse(expression, tz)
    except CronError as error:
        return FirePreview(problem=str(error))
    return FirePreview(tuple(schedule.next_fire_times(count, now)), schedule.syntax)
