"""What an environment used: its peak memory and its CPU seconds.

With a cgroup the kernel counts for us, every process included, those gone too:
v1 `memory.max_usage_in_bytes` and `cpuacct.usage`, v2 `memory.peak` and `cpu.stat`
`usage_usec` (source `cgroup`). Without one, a `ProcessMeter` samples the environment's
processes while the model runs (source `processes`): the sum over processes of each
one's peak resident memory (`VmHWM`) and CPU time, its reaped children's included. That
misses a process that starts and ends between two samples, and overstates the peak when
the processes' peaks did not coincide.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

from jobmanager.engine.cgroups import Cgroup

KIB = 1024


@dataclass(frozen=True)
class Usage:
    peak_memory_bytes: int | None
    cpu_seconds: float | None
    source: str


def cgroup_usage(cgroup: Cgroup) -> Usage:
    return Usage(cgroup.peak_memory_bytes(), cgroup.cpu_seconds(), "cgroup")


class ProcessMeter:
    """The largest figures seen per process (pid and start time), summed."""

    def __init__(self) -> None:
        self._peaks: dict[tuple[int, float], int] = {}
        self._cpu: dict[tuple[int, float], float] = {}
        self._lock = threading.Lock()

    def sample(self, processes: Iterable[psutil.Process]) -> None:
        for process in processes:
            try:
                with process.oneshot():
                    key = (process.pid, process.create_time())
                    times = process.cpu_times()
                    peak = max(_high_water_mark(process.pid), process.memory_info().rss)
            except (psutil.Error, OSError):
                continue  # gone meanwhile: what an earlier sample saw stays
            cpu = times.user + times.system + times.children_user + times.children_system
            with self._lock:
                self._peaks[key] = max(self._peaks.get(key, 0), peak)
                self._cpu[key] = max(self._cpu.get(key, 0.0), cpu)

    def usage(self) -> Usage:
        with self._lock:
            return Usage(sum(self._peaks.values()), sum(self._cpu.values()), "processes")


def _high_water_mark(pid: int) -> int:
    """The process's peak resident memory in bytes (`VmHWM`), 0 when not shown."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * KIB
    return 0
