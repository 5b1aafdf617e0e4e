"""The one interface every dispatcher implements."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Dispatcher(ABC):
    @abstractmethod
    def dispatch(self, job_id: str) -> None:
        """Tell the workers that `job_id` waits to run. Must not block on the job itself."""

    def queued(self) -> int | None:
        """Messages waiting to be taken, where a broker holds them (None: not known)."""
        return None

    def start(self) -> None:
        """Start whatever runs in the background (nothing by default)."""

    def stop(self) -> None:
        """Stop it, letting running jobs finish their current step."""
