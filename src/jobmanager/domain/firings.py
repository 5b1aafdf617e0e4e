"""Planning a schedule's firings: which fire times a due schedule fires at a given clock.

A pure function of its inputs, so every replica reading the same row plans the same
firings; the store's compare-and-set then lets exactly one of them record the plan.

Fire times late by more than `grace` are misfires (the service was down, or the
schedule stopped): the schedule's `misfire` policy says what happens to them —
`once` (default) one catch-up firing for the whole missed window, `skip` none
(recorded as a skipped firing), `all` each of them, at most `all_limit`.
Fire times within `grace` always fire one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from jobmanager.domain import cron

Misfire = Literal["once", "skip", "all"]

MISFIRE_GRACE = timedelta(seconds=5)
MISFIRE_ALL_LIMIT = 100
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class DueSchedule:
    """What the planner needs of a schedule whose next fire time has come."""

    id: str
    next_fire_at: datetime
    schedule_string: str
    timezone: str
    misfire: Misfire


@dataclass(frozen=True)
class PlannedFiring:
    """One fire time to record: create its job, or skip it with `reason`."""

    fire_time: datetime
    create_job: bool = True
    reason: str = ""


@dataclass(frozen=True)
class FiringPlan:
    """Fire `firings` and move `next_fire_at` from `expected_next` to `next_fire_at`."""

    schedule_id: str
    expected_next: datetime
    firings: tuple[PlannedFiring, ...]
    next_fire_at: datetime | None


@lru_cache(maxsize=1024)
def _parsed(expression: str, timezone: str) -> cron.CronSchedule:
    return cron.parse(expression, timezone)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_firings(
    schedule: DueSchedule,
    now: datetime,
    grace: timedelta = MISFIRE_GRACE,
    all_limit: int = MISFIRE_ALL_LIMIT,
) -> FiringPlan:
    """What to fire for a due schedule at `now`."""
    expression = _parsed(schedule.schedule_string, schedule.timezone)
    first = schedule.next_fire_at
    cutoff = now - grace
    firings: list[PlannedFiring] = []
    if first < cutoff:
        firings.extend(_misfired(schedule, expression, cutoff, all_limit))
        timely_after = cutoff - _TICK
    else:
        firings.append(PlannedFiring(first))
        timely_after = first
    timely = expression.fire_times_between(timely_after, now, all_limit)
    firings.extend(PlannedFiring(t) for t in timely)
    return FiringPlan(
        schedule_id=schedule.id,
        expected_next=first,
        firings=tuple(firings),
        next_fire_at=expression.next_after(now),
    )


def _misfired(
    schedule: DueSchedule, expression: cron.CronSchedule, cutoff: datetime, all_limit: int
) -> list[PlannedFiring]:
    """The firings for fire times from `next_fire_at` up to (not including) `cutoff`."""
    first = schedule.next_fire_at
    window = f"fire times from {_stamp(first)} until {_stamp(cutoff)} were missed"
    if schedule.misfire == "skip":
        return [PlannedFiring(first, create_job=False, reason=f"misfire skip: {window}")]
    if schedule.misfire == "once":
        return [PlannedFiring(first, reason=f"misfire once: one catch-up firing; {window}")]
    missed = [first, *expression.fire_times_between(first, cutoff - _TICK, all_limit - 1)]
    return [PlannedFiring(t, reason="misfire all: catch-up firing") for t in missed]
