"""The scheduler: turns due schedules into jobs, exactly once across replicas.

Every replica runs one `Scheduler` thread. It sleeps until the earliest
`next_fire_at` of any running schedule (at most `poll_seconds`, so schedules made
or started elsewhere are seen soon), plans each due schedule's firings with the
pure `plan_firings`, and hands the plan to the store, whose compare-and-set and
unique (schedule, fire time) rows let exactly one replica fire each time.

Fire times late by more than `grace` are misfires (the service was down, or
stopped): the schedule's `misfire` policy says what happens to them —
`once` (default) one catch-up firing for the whole missed window, `skip` none
(recorded as a skipped firing), `all` each of them, at most `all_limit`.
Fire times within `grace` always fire one by one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache

from jobmanager.dispatch.base import Dispatcher
from jobmanager.domain import cron
from jobmanager.store.schedules import DueSchedule, FiringPlan, PlannedFiring
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.scheduler")

MISFIRE_GRACE = timedelta(seconds=5)
MISFIRE_ALL_LIMIT = 100
POLL_SECONDS = 0.5
BATCH = 100  # schedules fired per pass; more due ones are fired on the next pass at once
_TICK = timedelta(microseconds=1)


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
    """What to fire for a due schedule at `now` — a pure function of its inputs."""
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


class Scheduler:
    """The firing loop of one replica (a daemon thread)."""

    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        *,
        clock: Callable[[], datetime] = utcnow,
        grace: timedelta = MISFIRE_GRACE,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.clock = clock
        self.grace = grace
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._failed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def run_once(self, now: datetime | None = None) -> list[str]:
        """Fire every schedule due at `now`; the ids of the jobs this replica created."""
        now = now or self.clock()
        created: list[str] = []
        self._failed = False
        for schedule in self.store.schedules.due(now, BATCH):
            created.extend(self._fire(schedule, now))
        for job_id in created:
            self.dispatcher.dispatch(job_id)
        return created

    def _fire(self, schedule: DueSchedule, now: datetime) -> list[str]:
        try:
            plan = plan_firings(schedule, now, self.grace)
            return self.store.schedules.fire(plan)
        except Exception:  # one broken schedule must not stop the others
            log.exception("firing schedule %s failed", schedule.id)
            self._failed = True
            return []

    def seconds_until_due(self) -> float:
        """How long to sleep: until the earliest fire time, at most `poll_seconds`."""
        earliest = self.store.schedules.earliest_next_fire()
        if earliest is None or self._failed:  # after a failure, do not spin on it
            return self.poll_seconds
        wait = (earliest - self.clock()).total_seconds()
        return min(max(wait, 0.0), self.poll_seconds)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.run_once()
                wait = self.seconds_until_due()
            except Exception:  # the database may be briefly away; try again soon
                log.exception("scheduler pass failed")
                wait = self.poll_seconds
            self._stopping.wait(wait)
