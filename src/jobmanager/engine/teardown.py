"""Bounded teardown: no step of ending an environment may hold its caller for long.

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
from collections.abc import Callable, Sequence
from pathlib import Path

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
