"""The retry policy: which failures are retried, how often, and the back-off between."""

from __future__ import annotations

import pytest

from jobmanager.domain.retries import (
    NO_RETRIES,
    Backoff,
    FailureKind,
    RetryPolicy,
    attempt_folder,
    retry_message,
)

LOST_OR_FAILED = frozenset({FailureKind.ENVIRONMENT_LOST, FailureKind.FAILED})


def test_only_the_named_failures_are_retried_and_only_max_retries_times() -> None:
    policy = RetryPolicy(max_retries=2, retry_on=LOST_OR_FAILED)
    assert policy.retries(FailureKind.ENVIRONMENT_LOST, attempt=1)
    assert policy.retries(FailureKind.FAILED, attempt=2)
    assert not policy.retries(FailureKind.FAILED, attempt=3)  # the third attempt is the last
    assert not policy.retries(FailureKind.TIMED_OUT, attempt=1)


def test_no_policy_retries_nothing() -> None:
    assert not any(NO_RETRIES.retries(kind, 1) for kind in FailureKind)
    assert RetryPolicy.of_json(None) == NO_RETRIES
    assert RetryPolicy.of_json({}) == NO_RETRIES


def test_backoff_grows_by_its_multiplier_up_to_its_maximum() -> None:
    backoff = Backoff(initial_seconds=2, multiplier=3, max_seconds=50)
    assert [backoff.seconds_before(n) for n in (1, 2, 3, 4)] == [2, 6, 18, 50]
    assert Backoff(1, 2, 300).seconds_before(10_000) == 300  # no overflow on huge counts
    assert Backoff(0, 1, 10).seconds_before(3) == 0
    with pytest.raises(ValueError, match="from 1"):
        backoff.seconds_before(0)
    policy = RetryPolicy(max_retries=3, retry_on=LOST_OR_FAILED, backoff=backoff)
    assert policy.wait_after(attempt=2) == 6


def test_the_json_form_round_trips_and_fills_defaults() -> None:
    policy = RetryPolicy(3, frozenset(FailureKind), Backoff(1.5, 2, 60))
    assert RetryPolicy.of_json(policy.to_json()) == policy
    assert policy.to_json()["retryOn"] == ["environmentLost", "failed", "timedOut"]
    partial = RetryPolicy.of_json({"maxRetries": 1, "retryOn": ["timedOut"]})
    assert partial.backoff == Backoff()
    assert partial.retries(FailureKind.TIMED_OUT, 1)


def test_a_retry_says_when_and_why_and_its_outputs_folder_is_named() -> None:
    policy = RetryPolicy(max_retries=2, retry_on=LOST_OR_FAILED)
    text = retry_message("Environment lost [gone]", 1, policy, 5.0)
    assert text == "Retrying in 5 s: attempt 2 of 3 [Environment lost [gone]]"
    assert attempt_folder(1) == "attempt-1"
