"""Teardown: the one way an environment ends, whoever ends it (the environment itself,
the reaper for a lost worker's, the start of a process for those a crashed one left).

No step of ending an environment may hold its caller for long.

Killing processes, closing a kernel's client, removing a cgroup or a folder each wait
on the operating system, and a process stuck in the kernel (uninterruptible sleep, a
frozen cgroup, a hung file system) makes such a wait last for ever. Each step therefore
runs with a time limit; one that overruns is logged and left to finish in the
background, and the caller goes on. What a teardown leaves behind is logged too, so an
operator can find it.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from jobmanager.engine.cgroups import Hierarchy
from jobmanager.engine.processes import MARKER_VARIABLE, kill_all

log = logging.getLogger("jobmanager.engine.teardown")

# How long one step may take (kill a kernel's client, remove a cgroup or a folder).
STEP_SECONDS = 10.0
LISTED = 5  # leftover paths named in the log


def bounded(
    step: Callable[[], Sequence[str] | None], what: str, seconds: float = STEP_SECONDS
) -> bool:
    """Run `step`, waiting at most `seconds` for it; True if it ended in time, without an
    error and without leaving anything behind (what it returns: leftovers, in words).
    A step that overruns goes on in a daemon thread (a thread cannot be killed). Each
    failure is logged, saying `what` the step was."""
    done = threading.Event()
    outcome: list[Sequence[str] | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(step())
        except BaseException as error:  # reported by the waiting caller
            errors.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name=f"teardown: {what}", daemon=True).start()
    if not done.wait(seconds):
        log.warning("teardown: %s did not end within %.0f s; left running", what, seconds)
        return False
    if errors:
        log.warning("teardown: %s failed: %s", what, errors[0], exc_info=errors[0])
        return False
    left = outcome[0] if outcome else None
    if left:
        log.warning("teardown: %s left behind %s", what, "; ".join(left))
        return False
    return True


def remove_folder(root: Path) -> list[str]:
    """Delete `root` and everything under it, as far as possible; return a few of the
    paths left (e.g. a mount point, or files of a hung file system)."""
    shutil.rmtree(root, ignore_errors=True)
    if not root.exists():
        return []
    leaves = (path for path in root.rglob("*") if not (path.is_dir() and any(path.iterdir())))
    return [str(path) for path, _ in zip(leaves, range(LISTED), strict=False)] or [str(root)]


Release = tuple[str, Callable[[], Sequence[str] | None]]  # (what, step): what it left


@dataclass(frozen=True)
class Teardown:
    """How one environment ends, in two steps: `kill` its processes (before its outputs
    are read, so that nothing can swap a file for a link any more), then `finish`: kill
    again, `release` what it holds (kernel clients, its confinement), delete its folder
    `root` (if it has one). `kill_processes` SIGKILLs them and returns the pids that
    survived. Each step is bounded; each returns True when everything ended in time and
    nothing was left behind, else what was is logged (see `bounded`)."""

    root: Path | None
    kill_processes: Callable[[], Sequence[int]]
    release: Sequence[Release] = ()

    @classmethod
    def of_marked(cls, root: Path | None, marker: str | None) -> Teardown:
        """An environment known only by its folder and marker (the process that started
        it is gone): its processes are those carrying the marker."""
        return cls(root, lambda: kill_all([], marker) if marker else [])

    def kill(self) -> bool:
        return bounded(
            lambda: [f"process {pid} survived SIGKILL" for pid in self.kill_processes()],
            f"killing {self.root}",
        )

    def finish(self, remove_files: bool = True) -> bool:
        clean = self.kill()
        for what, step in self.release:
            clean &= bounded(step, f"{what} of {self.root}")
        root = self.root
        if remove_files and root is not None:
            clean &= bounded(lambda: remove_folder(root), f"removing {root}")
        return clean


def remove_orphans(base_dir: Path, keep: Collection[str], cgroups: Hierarchy | None) -> int:
    """Tear down the environments under `base_dir` that no live job holds (`keep`: their
    folders), and the empty environment cgroups left; return how many were removed.

    After a crash, the kernels of the lost process (warm ones included) live on in their
    own sessions; the reaper has already salvaged what jobs left, so the rest is debris.
    """
    kept = {Path(k).resolve() for k in keep}
    found = {p.resolve() for p in base_dir.iterdir() if p.is_dir()} if base_dir.is_dir() else set()
    orphans = found - kept
    markers = _markers(orphans) if orphans else {}
    for root in orphans:
        Teardown.of_marked(root, markers.get(root)).finish()
    return len(orphans) + (cgroups.remove_leftovers() if cgroups is not None else 0)


def _markers(roots: Collection[Path]) -> dict[Path, str]:
    """The marker of each environment under `roots` that still has a process."""
    found: dict[Path, str] = {}
    for process in psutil.process_iter():
        try:
            environ = process.environ()
        except (psutil.Error, OSError):
            continue
        marker, folder = environ.get(MARKER_VARIABLE), environ.get("inputFolder", "")
        for root in roots:
            if marker and Path(folder).is_relative_to(root):
                found[root] = marker
    return found
