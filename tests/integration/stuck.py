"""What really makes a teardown wait for ever, made on purpose: a process frozen by the
cgroup v1 freezer (SIGKILL stays pending until it is thawed, as for a process stuck in
the kernel) and a mount point inside a folder (no rmtree removes it). Both need root."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import psutil
import pytest

from jobmanager.engine.processes import environment_processes

FREEZER = Path("/sys/fs/cgroup/freezer")

needs_freezer = pytest.mark.skipif(
    os.geteuid() != 0 or not FREEZER.is_dir(),
    reason="freezing a process for real needs root and the cgroup v1 freezer",
)


@contextlib.contextmanager
def frozen(pids: Iterable[int]) -> Iterator[None]:
    """The processes frozen (not even SIGKILL ends them) until the block ends; then thawed,
    and the kills they got take effect."""
    group = FREEZER / f"jobmanager-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        for pid in pids:
            (group / "cgroup.procs").write_text(str(pid))
        (group / "freezer.state").write_text("FROZEN")
        _until(lambda: (group / "freezer.state").read_text().strip() == "FROZEN")
        yield
    finally:
        (group / "freezer.state").write_text("THAWED")
        _until(lambda: not (group / "cgroup.procs").read_text().split())
        group.rmdir()


@contextlib.contextmanager
def mounted(folder: Path) -> Iterator[None]:
    """A tmpfs mounted on `folder` (created) until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "jobmanager-test", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def processes_named(name: str, marker: str) -> list[int]:
    """The pids of the environment's (`marker`) processes running `name`."""
    found = []
    for proc in environment_processes([], marker):
        with contextlib.suppress(psutil.Error):
            if proc.name() == name:
                found.append(proc.pid)
    return found


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the freezer did not answer in time"
        time.sleep(0.02)
