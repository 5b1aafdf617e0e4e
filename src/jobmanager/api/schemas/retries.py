"""The `retry` object of jobs and configurations (an extension; domain/retries.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jobmanager.api.schemas import integral
from jobmanager.domain.retries import (
    MAX_BACKOFF_SECONDS,
    MAX_MULTIPLIER,
    MAX_RETRIES,
    Backoff,
    FailureKind,
    RetryPolicy,
)


class BackoffBody(BaseModel):
    """The wait before retry n: initialSeconds * multiplier^(n-1), at most maxSeconds."""

    model_config = ConfigDict(extra="forbid")

    # strict: numbers only, no `false` or "5" read as one.
    initialSeconds: float = Field(
        default=Backoff.initial_seconds, ge=0, le=MAX_BACKOFF_SECONDS, strict=True
    )
    multiplier: float = Field(default=Backoff.multiplier, ge=1, le=MAX_MULTIPLIER, strict=True)
    maxSeconds: float = Field(
        default=Backoff.max_seconds, ge=0, le=MAX_BACKOFF_SECONDS, strict=True
    )


class RetryBody(BaseModel):
    """Which failures of an attempt run the job again, how often and how soon."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"x-extension": True})

    maxRetries: int = Field(ge=0, le=MAX_RETRIES, strict=True)
    retryOn: list[FailureKind] = Field(
        min_length=1,
        max_length=len(FailureKind),
        description="environmentLost: its worker died; failed: the model or its "
        "environment failed; timedOut: maximumExecutionTimeInSeconds ran out",
    )
    backoff: BackoffBody = Field(default_factory=BackoffBody)

    _whole = field_validator("maxRetries", mode="before")(integral)

    def to_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.maxRetries,
            retry_on=frozenset(self.retryOn),
            backoff=Backoff(
                self.backoff.initialSeconds, self.backoff.multiplier, self.backoff.maxSeconds
            ),
        )

    def to_json(self) -> dict[str, object]:
        return self.to_policy().to_json()
