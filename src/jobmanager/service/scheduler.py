"""The scheduler: turns due schedules into jobs, exactly once across replicas.

Every replica runs one `Scheduler` thread. It sleeps until the earliest
`next_fire_at` of any running schedule, or until a schedule is made or started in any
process (`wakeups.py`), at most `poll_seconds` (for a wake-up lost), plans each due
schedule's firings with the pure `plan_firings`, and hands the plan to the store,
whose compare-and-set and unique (schedule, fire time) rows let exactly one replica
fire each time.

Fire times late by more than `grace` are misfires (the service was down, or
stopped): the schedule's `misfire` policy says what happens to them —
`once` (default) one catch-up firing for the whole missed window, `skip` none
(recorded as a skipped firing), `all` each of them, at most `all_limit`.
Fire times within `grace` always fire one by one.

Schedules with a data-arrival trigger have no fire times: a second loop of the same
`Scheduler` looks for their settled arrivals — when a file arrives, when the newest
arrival settles, when a job ends (a schedule that skips overlaps waits for its job),
at most `poll_seconds` apart — and fires them through `store.triggers` (see
`store/triggers.py` for why exactly once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from jobmanager.common.loops import Every
from jobmanager.common.process_metrics import SCHEDULE_FIRING_LAG_SECONDS
from jobmanager.common.wakeups import Topic
from jobmanager.dispatch.base import Dispatcher
from jobmanager.domain.firings import MISFIRE_GRACE, DueSchedule, plan_firings
from jobmanager.store.outages import database_away
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.scheduler")

POLL_SECONDS = 10.0
BATCH = 100  # schedules fired per pass; more due ones are fired on the next pass at once


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
        self._failed = False
        self._loops: list[Every] = []
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> None:
        firing = Every("scheduler", self.poll_seconds, self._round, away=database_away)
        arrivals = Every("triggers", self.poll_seconds, self._arrival_round, away=database_away)
        wakeups = self.store.db.wakeups
        self._unsubscribe = [
            wakeups.subscribe(Topic.SCHEDULES, firing.wake),
            wakeups.subscribe(Topic.SCHEDULES, arrivals.wake),
            wakeups.subscribe(Topic.STATUSES, arrivals.wake),
        ]
        self._loops = [firing, arrivals]
        for loop in self._loops:
            loop.start()

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        for loop in self._loops:
            loop.stop(timeout=10)
        self._loops, self._unsubscribe = [], []

    def fire_arrivals(self, now: datetime | None = None) -> list[str]:
        """Fire every data-arrival schedule whose arrivals have settled at `now`; the ids
        of the jobs this replica created."""
        return self._fire_arrivals(now or self.clock())[0]

    def _fire_arrivals(self, now: datetime) -> tuple[list[str], float]:
        """The jobs created, and the seconds until the next arrivals settle (at most
        `poll_seconds`)."""
        created: list[str] = []
        wait = self.poll_seconds
        for pending in self.store.triggers.pending():
            if pending.trigger.is_settled(pending.newest_arrival, now):
                created.extend(self.store.triggers.fire(pending.schedule_id))
            else:
                debounce = timedelta(seconds=pending.trigger.debounce_seconds)
                settles = (pending.newest_arrival + debounce - now).total_seconds()
                wait = min(wait, max(settles, 0.0))
        for job_id in created:
            self.dispatcher.dispatch(job_id)
        return created, wait

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
            created = self.store.schedules.fire(plan)
        except Exception:  # one broken schedule must not stop the others
            log.exception("firing schedule %s failed", schedule.id)
            self._failed = True
            return []
        if created:  # this replica fired it: how late, from its first fire time
            lag = (self.clock() - schedule.next_fire_at).total_seconds()
            SCHEDULE_FIRING_LAG_SECONDS.observe(max(0.0, lag))
        return created

    def seconds_until_due(self) -> float:
        """How long to sleep: until the earliest fire time, at most `poll_seconds`."""
        earliest = self.store.schedules.earliest_next_fire()
        if earliest is None or self._failed:  # after a failure, do not spin on it
            return self.poll_seconds
        wait = (earliest - self.clock()).total_seconds()
        return min(max(wait, 0.0), self.poll_seconds)

    def _arrival_round(self) -> float:
        return self._fire_arrivals(self.clock())[1]

    def _round(self) -> float:
        """One pass; a pass that fails (the database briefly away) is retried after
        `poll_seconds` by `Every`."""
        self.run_once()
        return self.seconds_until_due()
