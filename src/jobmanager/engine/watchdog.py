"""Watches a running environment for a limit that was hit: disk use of its work directory
and `/tmp`, the disk they are on filling up as they grow, and what its confinement
reports (memory, processes).

Limits that the kernel enforces (cgroups, rlimits) make a process fail or die; the
watchdog turns that, or a disk filling up, into one sentence the run ends with, so a job
that hits a limit ends at once, saying which, instead of failing in a puzzling way or
running into its time limit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

MIB = 1024 * 1024
INTERVAL_SECONDS = 0.5
FULL_DISK_BYTES = MIB  # less free than this: the environment's writes fail
DISK_FULL = "No space left on the service's disk"


def disk_usage(folders: Iterable[Path]) -> int:
    """Bytes allocated on disk under `folders` (sparse files count what they use)."""
    total = 0
    pending = [str(folder) for folder in folders]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


class Watchdog:
    """A thread checking the environment every `INTERVAL_SECONDS` while it runs; the first
    breach found stays in `breach`."""

    def __init__(
        self,
        folders: Iterable[Path],
        disk_bytes: int | None,
        confinement_breach: Callable[[], str | None],
    ) -> None:
        self.folders = tuple(folders)
        self.disk_bytes = disk_bytes
        self.confinement_breach = confinement_breach
        self.breach: str | None = None
        self._disk: str | None = None  # what the last scan of the folders found
        self._used_with_room: int | None = None  # use of the folders when last the disk had room
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._full_disk(disk_usage(self.folders))  # the use it started with, if with room
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self._disk = self._disk_breach()  # a limit hit in the last moments still counts
        self.check()

    def check(self) -> str | None:
        """The breach, if any: cheap enough to ask often (the disk is scanned by the
        watchdog's thread, not here)."""
        if self.breach is None:
            self.breach = self.confinement_breach() or self._disk
        return self.breach

    def _disk_breach(self) -> str | None:
        used = disk_usage(self.folders)
        if self.disk_bytes is not None and used >= self.disk_bytes:
            return f"Disk limit of {self.disk_bytes // MIB} MiB reached"
        return self._full_disk(used)

    def _full_disk(self, used: int) -> str | None:
        """The disk is full and the environment's files grew since it last had room: its
        writes met the full disk (another's filling it alone ends no job)."""
        try:
            stats = os.statvfs(self.folders[0])
        except (OSError, IndexError):
            return None
        if stats.f_bavail * stats.f_frsize >= FULL_DISK_BYTES:
            self._used_with_room = used
            return None
        if self._used_with_room is not None and used > self._used_with_room:
            return f"{DISK_FULL}: the job's files filled it"
        return None

    def _watch(self) -> None:
        while not self._done.wait(INTERVAL_SECONDS):
            self._disk = self._disk_breach()
            if self.check() is not None:
                return
