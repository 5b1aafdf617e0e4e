"""The firing planner, a pure rule: which fire times a due schedule fires at a given clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobmanager.domain.firings import MISFIRE_GRACE, DueSchedule, FiringPlan, Misfire, plan_firings

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


def due(
    expression: str, next_fire_at: datetime, misfire: Misfire = "once", tz: str = "UTC"
) -> DueSchedule:
    return DueSchedule("s1", next_fire_at, expression, tz, misfire)


def times(plan: FiringPlan) -> list[datetime]:
    return [f.fire_time for f in plan.firings]


def test_on_time_fires_the_due_time_and_moves_to_the_next() -> None:
    plan = plan_firings(due("0 * * * * ?", T0), T0 + timedelta(milliseconds=30))
    assert times(plan) == [T0]
    assert all(f.create_job and f.reason == "" for f in plan.firings)
    assert plan.expected_next == T0
    assert plan.next_fire_at == T0 + MINUTE


def test_a_little_late_fires_each_time_within_the_grace_one_by_one() -> None:
    plan = plan_firings(due("* * * * * ?", T0), T0 + 3 * SECOND + SECOND / 2)
    assert times(plan) == [T0 + n * SECOND for n in range(4)]
    assert all(f.create_job for f in plan.firings)
    assert plan.next_fire_at == T0 + 4 * SECOND


def test_five_field_cron_fires_at_second_zero() -> None:
    plan = plan_firings(due("*/5 * * * *", T0), T0)
    assert times(plan) == [T0]
    assert plan.next_fire_at == T0 + 5 * MINUTE


def test_misfire_once_is_one_catch_up_for_the_missed_window() -> None:
    now = T0 + 10 * MINUTE + 30 * SECOND  # down through 11 minute marks
    plan = plan_firings(due("0 * * * * ?", T0, "once"), now)
    (firing,) = plan.firings
    assert firing.fire_time == T0 and firing.create_job
    assert "missed" in firing.reason and "once" in firing.reason
    assert plan.next_fire_at == T0 + 11 * MINUTE


def test_misfire_skip_records_the_window_without_a_job() -> None:
    plan = plan_firings(due("0 * * * * ?", T0, "skip"), T0 + 10 * MINUTE + 30 * SECOND)
    (firing,) = plan.firings
    assert not firing.create_job and "missed" in firing.reason
    assert plan.next_fire_at == T0 + 11 * MINUTE


def test_misfire_all_fires_every_missed_time() -> None:
    plan = plan_firings(due("0 * * * * ?", T0, "all"), T0 + 10 * MINUTE + 30 * SECOND)
    assert times(plan) == [T0 + n * MINUTE for n in range(11)]
    assert all(f.create_job for f in plan.firings)


def test_misfire_all_is_bounded() -> None:
    now = T0 + timedelta(hours=1)
    plan = plan_firings(due("* * * * * ?", T0, "all"), now, all_limit=100)
    catch_up = [f for f in plan.firings if f.reason]
    timely = [f for f in plan.firings if not f.reason]
    assert [f.fire_time for f in catch_up] == [T0 + n * SECOND for n in range(100)]
    timely_times = [f.fire_time for f in timely]
    assert timely_times == [now - MISFIRE_GRACE + n * SECOND for n in range(6)]
    assert plan.next_fire_at == now + SECOND


@pytest.mark.parametrize("misfire", ["once", "skip", "all"])
def test_times_within_the_grace_after_a_misfire_still_fire(misfire: Misfire) -> None:
    now = T0 + 20 * SECOND
    plan = plan_firings(due("* * * * * ?", T0, misfire), now)
    timely = [f.fire_time for f in plan.firings if not f.reason]
    assert timely == [now - MISFIRE_GRACE + n * SECOND for n in range(6)]
    assert len(set(times(plan))) == len(plan.firings)  # no fire time twice


def test_fire_times_follow_the_schedules_time_zone() -> None:
    # 10:15 in Berlin is 09:15 UTC in winter.
    first = datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
    plan = plan_firings(due("0 15 10 * * ?", first, tz="Europe/Berlin"), first)
    assert times(plan) == [first]
    assert plan.next_fire_at == first + timedelta(days=1)


def test_a_schedule_that_ends_has_no_next_fire_time() -> None:
    last = datetime(2030, 1, 1, tzinfo=UTC)
    plan = plan_firings(due("0 0 0 1 1 ? 2030", last), last)
    assert times(plan) == [last]
    assert plan.next_fire_at is None


def test_planning_is_deterministic_for_replicas_reading_the_same_row() -> None:
    schedule = due("*/2 * * * * ?", T0, "all")
    now = T0 + 7 * SECOND
    assert plan_firings(schedule, now) == plan_firings(schedule, now)
