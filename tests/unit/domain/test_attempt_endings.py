"""How an attempt ends, for the worker and the reaper alike: one table of cases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jobmanager.domain.attempt_endings import AttemptEnd, AttemptFacts, Ending, end_attempt
from jobmanager.domain.retries import NO_RETRIES, Backoff, FailureKind, RetryPolicy
from jobmanager.domain.statuses import JobStatus

EVERYTHING = RetryPolicy(
    max_retries=2,
    retry_on=frozenset(FailureKind),
    backoff=Backoff(initial_seconds=5, multiplier=2, max_seconds=300),
)
ONLY_LOST = replace(EVERYTHING, retry_on=frozenset({FailureKind.ENVIRONMENT_LOST}))

S = JobStatus
RUNNING, STOPPING = S.RUNNING, S.STOPPING


def facts(
    end: AttemptEnd,
    cause: str = "",
    *,
    policy: RetryPolicy = EVERYTHING,
    attempt: int = 1,
    stop: bool = False,
    status: JobStatus = RUNNING,
) -> AttemptFacts:
    return AttemptFacts(end, attempt, policy, stop, status, time_limit_seconds=60, cause=cause)


# (facts, status it goes to, message, attempt folder, shown STOPPING meanwhile)
CASES = {
    "success": (
        facts(AttemptEnd.SUCCEEDED, "All 3 paragraphs ran"),
        S.SUCCEEDED,
        "All 3 paragraphs ran",
        "",
        False,
    ),
    "success without a word": (
        facts(AttemptEnd.SUCCEEDED),
        S.SUCCEEDED,
        "Notebook execution finished.",
        "",
        False,
    ),
    "a run that finished after a stop was asked is stopped": (
        facts(AttemptEnd.SUCCEEDED, "All 3 paragraphs ran", stop=True, status=STOPPING),
        S.STOPPED,
        "Stopped on request.",
        "",
        False,
    ),
    "stopped on request": (
        facts(AttemptEnd.STOPPED, "Stopped during paragraph 2 of 3", stop=True, status=STOPPING),
        S.STOPPED,
        "Stopped on request.",
        "",
        False,
    ),
    "stopped before the model ran": (
        facts(AttemptEnd.NOT_STARTED, stop=True, status=S.STARTING),
        S.STOPPED,
        "Stopped on request before execution.",
        "",
        False,
    ),
    "a failed step, retried": (
        facts(AttemptEnd.FAILED, "Paragraph 2 failed: boom"),
        S.SUBMITTED,
        "Retrying in 5 s: attempt 2 of 3 [Paragraph 2 failed: boom]",
        "attempt-1",
        False,
    ),
    "a kernel crash fails its step, retried after the second wait": (
        facts(AttemptEnd.FAILED, "Cell 1 failed: the kernel died", attempt=2),
        S.SUBMITTED,
        "Retrying in 10 s: attempt 3 of 3 [Cell 1 failed: the kernel died]",
        "attempt-2",
        False,
    ),
    "retries exhausted": (
        facts(AttemptEnd.FAILED, "Cell 1 failed: the kernel died", attempt=3),
        S.FAILED,
        "Cell 1 failed: the kernel died",
        "",
        False,
    ),
    "retryOn not matching": (
        facts(AttemptEnd.FAILED, "Paragraph 2 failed: boom", policy=ONLY_LOST),
        S.FAILED,
        "Paragraph 2 failed: boom",
        "",
        False,
    ),
    "no policy, a failure without a word": (
        facts(AttemptEnd.FAILED, policy=NO_RETRIES),
        S.FAILED,
        "Notebook execution failed.",
        "",
        False,
    ),
    "a stop during a retryable failure: the stop wins, the failure stays": (
        facts(AttemptEnd.FAILED, "Paragraph 2 failed: boom", stop=True),
        S.FAILED,
        "Paragraph 2 failed: boom",
        "",
        False,
    ),
    "time-out": (
        facts(
            AttemptEnd.TIMED_OUT,
            "The maximum execution time was exceeded during paragraph 2 of 3",
            policy=NO_RETRIES,
        ),
        S.FAILED,
        "Maximum execution time of 60 seconds exceeded"
        " [The maximum execution time was exceeded during paragraph 2 of 3]",
        "",
        True,
    ),
    "time-out, retried": (
        facts(AttemptEnd.TIMED_OUT, "The maximum execution time was exceeded during cell 1"),
        S.SUBMITTED,
        "Retrying in 5 s: attempt 2 of 3 [Maximum execution time of 60 seconds exceeded"
        " [The maximum execution time was exceeded during cell 1]]",
        "attempt-1",
        False,
    ),
    "a limit hit is a failure": (
        facts(AttemptEnd.LIMIT_EXCEEDED, "Memory limit of 256 MiB exceeded", policy=ONLY_LOST),
        S.FAILED,
        "Memory limit of 256 MiB exceeded",
        "",
        True,
    ),
    "the environment failed to start": (
        facts(AttemptEnd.BROKEN, "Failed to start environment [busy]", policy=NO_RETRIES),
        S.FAILED,
        "Failed to start environment [busy]",
        "",
        True,
    ),
    "the service shut down: never retried": (
        facts(AttemptEnd.SHUT_DOWN, "Stopped during paragraph 1 of 2", stop=True),
        S.FAILED,
        "The service shut down while the job ran [Stopped during paragraph 1 of 2]",
        "",
        True,
    ),
    "worker lost, retried": (
        facts(AttemptEnd.ENVIRONMENT_LOST, "the process running the job stopped"),
        S.SUBMITTED,
        "Retrying in 5 s: attempt 2 of 3 [Environment lost [the process running the job stopped]]",
        "attempt-1",
        False,
    ),
    "worker lost, no policy": (
        facts(
            AttemptEnd.ENVIRONMENT_LOST, "the process running the job stopped", policy=NO_RETRIES
        ),
        S.FAILED,
        "Environment lost [the process running the job stopped]",
        "",
        False,
    ),
    "worker lost while stopping on request: the stop wins": (
        facts(AttemptEnd.ENVIRONMENT_LOST, "the process stopped", stop=True, status=STOPPING),
        S.STOPPED,
        "Stopped; the environment was lost [the process stopped]",
        "",
        False,
    ),
    "worker lost while cleaning up a failure: not retried": (
        facts(AttemptEnd.ENVIRONMENT_LOST, "the process stopped", status=STOPPING),
        S.FAILED,
        "Environment lost [the process stopped]",
        "",
        False,
    ),
}


@pytest.mark.parametrize(
    ("given", "status", "message", "folder", "stopping"), CASES.values(), ids=CASES
)
def test_how_an_attempt_ends(
    given: AttemptFacts, status: JobStatus, message: str, folder: str, stopping: bool
) -> None:
    ending = end_attempt(given)
    assert (ending.status, ending.message) == (status, message)
    assert ending.output_folder == folder
    assert ending.shows_stopping is stopping


def test_a_retried_attempt_falls_back_to_failed_when_the_store_refuses_the_retry() -> None:
    ending = end_attempt(facts(AttemptEnd.FAILED, "Paragraph 2 failed: boom"))
    assert ending.wait_seconds == 5.0
    assert (ending.final, ending.account) == (S.FAILED, "Paragraph 2 failed: boom")


def test_outputs_not_saved_fail_the_job_unless_it_is_retried() -> None:
    done: Ending = end_attempt(facts(AttemptEnd.SUCCEEDED, "All 3 paragraphs ran"))
    lost = done.outputs_lost("out.csv").adding("Warning: x")
    assert lost.status is S.FAILED
    assert lost.message == "All 3 paragraphs ran Failed to save outputs [out.csv] Warning: x"
    retried = end_attempt(facts(AttemptEnd.FAILED, "boom")).outputs_lost("out.csv")
    assert retried.status is S.SUBMITTED
    assert (
        retried.message == "Retrying in 5 s: attempt 2 of 3 [boom Failed to save outputs [out.csv]]"
    )


def test_a_stop_that_comes_after_the_ending_wins() -> None:
    done = end_attempt(facts(AttemptEnd.SUCCEEDED, "All 3 paragraphs ran"))
    late = done.overtaken_by_stop()
    assert (late.status, late.message) == (S.STOPPED, "Stopped on request.")
