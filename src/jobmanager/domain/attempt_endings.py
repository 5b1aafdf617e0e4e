"""How an attempt of a job ends: tried again, or its final status, and what it says.

The one rule for the worker (a run that ended, or an attempt that never got to run) and
the reaper (an attempt whose worker was lost). They state the facts (`AttemptFacts`),
`end_attempt` answers (`Ending`), and they apply the answer through the store's
conditional transitions: a stop that comes after the answer still wins there, since a
job gone `STOPPING` is never sent back to wait.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from jobmanager.domain.messages import chain
from jobmanager.domain.retries import FailureKind, RetryPolicy, attempt_folder, retry_message
from jobmanager.domain.statuses import RETRYABLE, JobStatus

SHUT_DOWN = "The service shut down while the job ran"
LOST = "Environment lost"
STOPPED_ON_REQUEST = "Stopped on request."


class AttemptEnd(StrEnum):
    """How an attempt ended. The first five are the engine's outcomes, which the worker
    maps to these in one place (`jobrun/worker.py`, `END_OF_RUN`); the others only the
    service sees."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the model failed: a step, or the kernel under it
    STOPPED = "stopped"  # a stop request ended the run
    TIMED_OUT = "timed_out"  # maximumExecutionTimeInSeconds ran out
    LIMIT_EXCEEDED = "limit_exceeded"  # a limit of the environment was hit
    NOT_STARTED = "not_started"  # stopped on request before the model ran
    BROKEN = "broken"  # the environment, the staging or the service failed
    SHUT_DOWN = "shut_down"  # the service shut down while the job ran
    ENVIRONMENT_LOST = "environment_lost"  # its worker was lost; the reaper ends it


# The failures a retry policy may retry, in the words of `retryOn`; other ends never are.
_FAILURE_KINDS: dict[AttemptEnd, FailureKind] = {
    AttemptEnd.FAILED: FailureKind.FAILED,
    AttemptEnd.LIMIT_EXCEEDED: FailureKind.FAILED,
    AttemptEnd.BROKEN: FailureKind.FAILED,
    AttemptEnd.TIMED_OUT: FailureKind.TIMED_OUT,
    AttemptEnd.ENVIRONMENT_LOST: FailureKind.ENVIRONMENT_LOST,
}
# The ends shown `STOPPING` while the environment is stopped and the outputs saved (SPEC
# §1: the time limit ran out, or a fatal error is being cleaned up); a stop request has
# shown it already.
_SHOWN_STOPPING = frozenset(
    {AttemptEnd.TIMED_OUT, AttemptEnd.LIMIT_EXCEEDED, AttemptEnd.BROKEN, AttemptEnd.SHUT_DOWN}
)


@dataclass(frozen=True)
class AttemptFacts:
    """What is known when an attempt ends. `cause` is what ended it, in the words of
    whoever saw it (the engine's account of the run, a failure's chain, the reaper's);
    `stop_asked`: a stop request (or the service's shut-down) reached the attempt;
    `status`: the job's status as its ender knows it."""

    end: AttemptEnd
    attempt: int
    policy: RetryPolicy
    stop_asked: bool
    status: JobStatus
    time_limit_seconds: int
    cause: str = ""


@dataclass(frozen=True)
class Ending:
    """The answer: `final` is the job's final status unless the attempt is tried again
    (`wait_seconds` not None), or unless the store refuses the retry (a stop came)."""

    final: JobStatus
    account: str  # what happened, as the job's message says it
    attempt: int
    policy: RetryPolicy
    wait_seconds: float | None
    shows_stopping: bool

    @property
    def retried(self) -> bool:
        return self.wait_seconds is not None

    @property
    def status(self) -> JobStatus:
        return JobStatus.SUBMITTED if self.retried else self.final

    @property
    def message(self) -> str:
        if self.wait_seconds is None:
            return self.account
        return retry_message(self.account, self.attempt, self.policy, self.wait_seconds)

    @property
    def output_folder(self) -> str:
        """Where the attempt's outputs go in the output folder ("": its top)."""
        return attempt_folder(self.attempt) if self.retried else ""

    def adding(self, *texts: str) -> Ending:
        """The same ending, its account followed by `texts` (warnings, later failures)."""
        return replace(self, account=" ".join([self.account, *texts]).strip())

    def outputs_lost(self, which: str) -> Ending:
        """Some outputs could not be saved: the job fails, unless it is tried again."""
        final = self.final if self.retried else JobStatus.FAILED
        return replace(self, final=final).adding(chain("Failed to save outputs", which))

    def overtaken_by_stop(self) -> Ending:
        """The store refused this ending: a stop request came after it, and wins."""
        return replace(self, final=JobStatus.STOPPED, account=STOPPED_ON_REQUEST, wait_seconds=None)


def end_attempt(facts: AttemptFacts) -> Ending:
    """How the attempt ends. A stop wins over a retry, over a success and over a lost
    worker; a failure stays a failure."""
    kind = _FAILURE_KINDS.get(facts.end)
    retried = (
        kind is not None
        and not facts.stop_asked
        and facts.status in RETRYABLE
        and facts.policy.retries(kind, facts.attempt)
    )
    final, account = _final(facts)
    return Ending(
        final=final,
        account=account,
        attempt=facts.attempt,
        policy=facts.policy,
        wait_seconds=facts.policy.wait_after(facts.attempt) if retried else None,
        shows_stopping=facts.end in _SHOWN_STOPPING and not retried,
    )


def _final(facts: AttemptFacts) -> tuple[JobStatus, str]:
    """The final status and the message of an attempt not tried again."""
    end, cause, stop = facts.end, facts.cause, facts.stop_asked
    if end is AttemptEnd.STOPPED or (end is AttemptEnd.SUCCEEDED and stop):
        return JobStatus.STOPPED, STOPPED_ON_REQUEST
    if end is AttemptEnd.NOT_STARTED:
        return JobStatus.STOPPED, "Stopped on request before execution."
    if end is AttemptEnd.SUCCEEDED:
        return JobStatus.SUCCEEDED, cause or "Notebook execution finished."
    if end is AttemptEnd.ENVIRONMENT_LOST:
        if stop:
            return JobStatus.STOPPED, chain("Stopped; the environment was lost", cause)
        return JobStatus.FAILED, chain(LOST, cause)
    if end is AttemptEnd.TIMED_OUT:
        limit = facts.time_limit_seconds
        return JobStatus.FAILED, chain(f"Maximum execution time of {limit} seconds exceeded", cause)
    if end is AttemptEnd.SHUT_DOWN:
        return JobStatus.FAILED, chain(SHUT_DOWN, cause)
    if end is AttemptEnd.FAILED:
        return JobStatus.FAILED, cause or "Notebook execution failed."
    return JobStatus.FAILED, cause  # BROKEN, LIMIT_EXCEEDED: the cause says it all
