"""The retry policy: which failures of an attempt run the job again, how often, how soon.

A policy comes from the job (`retry` in its body) or else from its configuration; with
none, nothing is retried. Its JSON form is the API's:
`{"maxRetries": 2, "retryOn": ["environmentLost", "failed", "timedOut"],
"backoff": {"initialSeconds": 5, "multiplier": 2, "maxSeconds": 300}}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jobmanager.domain.messages import chain

MAX_RETRIES = 10
MAX_BACKOFF_SECONDS = 86400.0
MAX_MULTIPLIER = 10.0


class FailureKind(StrEnum):
    """How an attempt went wrong, in the words of `retryOn`."""

    ENVIRONMENT_LOST = "environmentLost"  # its worker died (the reaper took it over)
    FAILED = "failed"  # the model, its environment or its staging failed
    TIMED_OUT = "timedOut"  # maximumExecutionTimeInSeconds ran out


@dataclass(frozen=True)
class Backoff:
    """The wait before retry n (1-based): initial * multiplier^(n-1), at most `max_seconds`."""

    initial_seconds: float = 5.0
    multiplier: float = 2.0
    max_seconds: float = 300.0

    def seconds_before(self, retry: int) -> float:
        if retry < 1:
            raise ValueError("retries count from 1")
        wait = self.initial_seconds * self.multiplier ** min(retry - 1, 64)
        return float(min(wait, self.max_seconds))


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 0
    retry_on: frozenset[FailureKind] = frozenset()
    backoff: Backoff = Backoff()

    def retries(self, kind: FailureKind, attempt: int) -> bool:
        """Whether attempt number `attempt` (1-based), ended by `kind`, is tried again."""
        return kind in self.retry_on and attempt <= self.max_retries

    def wait_after(self, attempt: int) -> float:
        """Seconds between the end of attempt `attempt` and the start of the next."""
        return self.backoff.seconds_before(attempt)

    def to_json(self) -> dict[str, Any]:
        return {
            "maxRetries": self.max_retries,
            "retryOn": sorted(kind.value for kind in self.retry_on),
            "backoff": {
                "initialSeconds": self.backoff.initial_seconds,
                "multiplier": self.backoff.multiplier,
                "maxSeconds": self.backoff.max_seconds,
            },
        }

    @classmethod
    def of_json(cls, data: dict[str, Any] | None) -> RetryPolicy:
        """The policy stored as `to_json` wrote it (None: no retries)."""
        if not data:
            return NO_RETRIES
        backoff = data.get("backoff") or {}
        return cls(
            max_retries=int(data.get("maxRetries", 0)),
            retry_on=frozenset(FailureKind(kind) for kind in data.get("retryOn", [])),
            backoff=Backoff(
                float(backoff.get("initialSeconds", Backoff.initial_seconds)),
                float(backoff.get("multiplier", Backoff.multiplier)),
                float(backoff.get("maxSeconds", Backoff.max_seconds)),
            ),
        )


NO_RETRIES = RetryPolicy()


def retry_message(cause: str, attempt: int, policy: RetryPolicy, wait_seconds: float) -> str:
    """What a job waiting for its next attempt says: when it runs again, and why."""
    total = policy.max_retries + 1
    return chain(f"Retrying in {wait_seconds:g} s: attempt {attempt + 1} of {total}", cause)


def attempt_folder(attempt: int) -> str:
    """Where a retried attempt's outputs go in the output folder (the last one's: the top)."""
    return f"attempt-{attempt}"
