"""Kill every process of an environment, including those that left its session."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable

import psutil

MARKER_VARIABLE = "JOBMANAGER_ENVIRONMENT_ID"
KILL_SECONDS = 5.0  # how long killing an environment's processes may take
ROUND_SECONDS = 3.0  # how long one round waits for the killed to exit


def _marked(marker: str) -> list[psutil.Process]:
    """Processes whose environment carries `MARKER_VARIABLE=marker` (ours only)."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if proc.environ().get(MARKER_VARIABLE) == marker:
                found.append(proc)
        except (psutil.Error, OSError):
            continue  # gone, a zombie, or another user's process
    return found


def environment_processes(roots: Iterable[int], marker: str | None) -> set[psutil.Process]:
    """The roots, their descendants, and every process marked as the environment's."""
    procs: set[psutil.Process] = set()
    for pid in roots:
        try:
            root = psutil.Process(pid)
            procs.add(root)
            procs.update(root.children(recursive=True))
        except psutil.Error:
            continue
    for proc in _marked(marker) if marker else []:
        procs.add(proc)
        try:
            procs.update(proc.children(recursive=True))
        except psutil.Error:
            continue
    return procs


def kill_all(roots: Iterable[int], marker: str | None, timeout: float = KILL_SECONDS) -> list[int]:
    """SIGKILL the process trees of `roots` and the processes marked with `marker` (if
    given) until two scans in a row find none: a fork may race a round, and a process in
    the middle of `exec` may briefly show no environment. Gives up after `timeout`
    seconds and returns the pids still alive then: a process stuck in the kernel (a
    frozen cgroup, uninterruptible sleep) dies only when it leaves it."""
    pending = list(roots)
    deadline = time.monotonic() + timeout
    survivors: list[int] = []
    empty_scans = 0
    while empty_scans < 2 and time.monotonic() < deadline:
        procs = environment_processes(pending, marker)
        if not procs:
            empty_scans += 1
            continue
        empty_scans = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        survivors = _wait_gone(procs, deadline)
        pending = survivors  # found again next round even without a marker
    return [] if empty_scans >= 2 else sorted(survivors)


def _wait_gone(procs: Iterable[psutil.Process], deadline: float) -> list[int]:
    """Wait until every process has exited, at most `ROUND_SECONDS` or until `deadline`;
    the pids of those still running. A zombie counts as gone: a killed process whose
    parent died too (as in a sandbox's PID namespace) waits for the host's init to reap
    it, which is no business of ours."""
    pending = list(procs)
    until = min(deadline, time.monotonic() + ROUND_SECONDS)
    while pending:
        pending = [proc for proc in pending if _running(proc)]
        if not pending or time.monotonic() >= until:
            break
        time.sleep(0.01)
    return [proc.pid for proc in pending]


def _running(proc: psutil.Process) -> bool:
    try:
        with contextlib.suppress(psutil.TimeoutExpired, ChildProcessError):
            proc.wait(timeout=0)  # reaps it if it is our own child
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True
