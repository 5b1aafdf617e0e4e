"""Who runs a job: `host:pid:tag`, so that a reaper on the same host can tell that the
process of a job's worker is gone without waiting for its heartbeat to age."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerId:
    host: str
    pid: int
    tag: str

    @classmethod
    def new(cls, host: str, pid: int, tag: str | None = None) -> WorkerId:
        """A worker of process `pid` on `host`; `tag` tells apart workers of one process."""
        return cls(host, pid, tag or uuid.uuid4().hex[:8])

    @classmethod
    def parse(cls, text: str) -> WorkerId | None:
        """The id written by `str(worker_id)`, or None for anything else."""
        parts = text.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])

    @staticmethod
    def host_prefix(host: str) -> str:
        """What the ids of every worker on `host` start with."""
        return f"{host}:"

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.tag}"
