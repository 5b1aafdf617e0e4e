"""What `jobmanager doctor`'s checks share: what they found so far, and how a check
fails or warns (`doctor.py` runs them; `doctor_job.py` and `doctor_cluster.py` hold some)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobmanager.startup.settings import Settings

if TYPE_CHECKING:
    from jobmanager.jobrun.environment_pool import Isolation
    from jobmanager.store.blobs import BlobStore
    from jobmanager.store.db import Database


class CheckFailed(Exception):
    """What is wrong and how to fix it, in one sentence or two."""


class CheckWarned(Exception):
    """What works only in part, and how to fix it: not a failure."""


@dataclass
class Findings:
    """What the checks found so far, for the checks after them."""

    settings: Settings
    database: Database | None = None
    blobs: BlobStore | None = None
    isolation: Isolation | None = None
    failed: set[str] = field(default_factory=set)

    def close(self) -> None:
        if self.database is not None:
            self.database.dispose()
