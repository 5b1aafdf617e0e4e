"""How long a job may execute: the one rule for jobs and for the jobs schedules create."""

from __future__ import annotations

from dataclasses import dataclass

from jobmanager.domain.errors import InvalidInput


@dataclass(frozen=True)
class TimeLimits:
    """The operator's default and maximum execution time, in seconds."""

    default: int
    maximum: int

    def seconds(self, requested: int | None, field: str) -> int:
        """The requested time, else the default; more than the maximum is a 400 naming `field`."""
        seconds = requested or self.default
        if seconds > self.maximum:
            raise InvalidInput(f"{field}: at most {self.maximum}")
        return seconds
