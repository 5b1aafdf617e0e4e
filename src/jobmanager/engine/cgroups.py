"""Limits on a whole environment — every process it starts, together — through cgroups.

The service makes one cgroup per environment under its own cgroup (`<own>/jobmanager/`),
on cgroup v2 (one unified tree) or v1 (one tree per controller, as on the machines the
project is tested on). Memory and process count are hard limits there: no process of
the environment can escape them by forking. CPU is a quota when the configuration asks
for `cpus`. A limit that was hit is reported (`breach`), so the job can end naming it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
GROUP = "jobmanager"
CPU_PERIOD_US = 100_000
_V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
_V2_CONTROLLERS = ("memory", "pids", "cpu")
_LEFTOVER_AGE_SECONDS = 60.0
REMOVE_SECONDS = 5.0  # how long `remove` waits for killed processes to leave
# The weight of all environments together: one ordinary process's (1024 on v1, 100 on
# v2). Against a fork bomb the service's threads still get at least half of the CPU,
# and the kernels are not starved by whatever else runs on the machine (at an eighth
# of a process's weight, a kernel start took minutes on a busy machine: docs/speed.md).
_ENVIRONMENTS_CPU_WEIGHT = {1: ("cpu.shares", "1024"), 2: ("cpu.weight", "100")}


class CgroupsUnavailable(RuntimeError):
    """This process cannot make cgroups; the message says why."""


@dataclass(frozen=True)
class CgroupLimits:
    memory_bytes: int | None = None
    max_processes: int | None = None
    cpus: float | None = None


@dataclass(frozen=True)
class Hierarchy:
    """Where this process makes environment cgroups: `parents` maps each usable
    controller to its parent folder (on v2 every controller shares one folder)."""

    version: int
    parents: Mapping[str, Path]

    @classmethod
    def detect(cls) -> Hierarchy:
        """The cgroups this process may use; raises `CgroupsUnavailable` saying why not."""
        own = _own_cgroups(Path("/proc/self/cgroup").read_text())
        mounts = _cgroup_mounts(Path("/proc/self/mountinfo").read_text())
        v1 = {c: p for c in _V1_CONTROLLERS if (p := _v1_parent(c, own, mounts)) is not None}
        hierarchy = (
            cls(1, v1) if "memory" in v1 or "pids" in v1 else cls(2, _v2_parents(own, mounts))
        )
        hierarchy._yield_cpu()
        return hierarchy

    def _yield_cpu(self) -> None:
        name, weight = _ENVIRONMENTS_CPU_WEIGHT[self.version]
        if "cpu" in self.parents:
            with contextlib.suppress(OSError):
                (self.parents["cpu"] / name).write_text(weight)

    @property
    def controllers(self) -> list[str]:
        return sorted(self.parents)

    def describe(self) -> str:
        folders = sorted({str(p) for p in self.parents.values()})
        return f"cgroup v{self.version} ({', '.join(self.controllers)}) under {', '.join(folders)}"

    def create(self, name: str, limits: CgroupLimits) -> Cgroup:
        """A new cgroup for one environment, with its limits set."""
        folders = {c: parent / name for c, parent in self.parents.items()}
        for folder in set(folders.values()):
            folder.mkdir()
        group = Cgroup(self.version, folders, limits)
        try:
            group.apply_limits()
        except OSError:
            group.remove()
            raise
        return group

    def remove_leftovers(self) -> int:
        """Remove empty environment cgroups a crashed process left; return how many."""
        removed = 0
        cutoff = time.time() - _LEFTOVER_AGE_SECONDS
        for parent in set(self.parents.values()):
            for child in parent.iterdir() if parent.is_dir() else []:
                # OSError: not empty (in use), or another process removed it since the listing
                with contextlib.suppress(OSError):
                    if child.is_dir() and child.stat().st_mtime < cutoff:
                        child.rmdir()
                        removed += 1
        return removed


class Cgroup:
    """One environment's cgroup: enter it (`procs_files`), read what was hit, kill, remove."""

    def __init__(self, version: int, folders: Mapping[str, Path], limits: CgroupLimits) -> None:
        self.version = version
        self.folders = dict(folders)
        self.limits = limits

    @property
    def procs_files(self) -> list[Path]:
        """Write a pid into each to move that process (and its future children) in."""
        return [folder / "cgroup.procs" for folder in sorted(set(self.folders.values()))]

    def apply_limits(self) -> None:
        memory, processes, cpus = (
            self.limits.memory_bytes,
            self.limits.max_processes,
            self.limits.cpus,
        )
        if memory is not None and "memory" in self.folders:
            if self.version == 1:
                self._write("memory", "memory.limit_in_bytes", memory)
                self._write("memory", "memory.memsw.limit_in_bytes", memory, optional=True)
            else:
                self._write("memory", "memory.max", memory)
                self._write("memory", "memory.swap.max", 0, optional=True)
        if processes is not None and "pids" in self.folders:
            self._write("pids", "pids.max", processes)
        if cpus is not None and "cpu" in self.folders:
            quota = max(1000, int(cpus * CPU_PERIOD_US))
            if self.version == 1:
                self._write("cpu", "cpu.cfs_period_us", CPU_PERIOD_US)
                self._write("cpu", "cpu.cfs_quota_us", quota)
            else:
                self._write("cpu", "cpu.max", f"{quota} {CPU_PERIOD_US}")

    def breach(self) -> str | None:
        """Which limit was hit, in words ("Memory limit of 512 MiB reached"), or None."""
        if self.limits.memory_bytes is not None and self._oom_kills() > 0:
            return f"Memory limit of {self.limits.memory_bytes // MIB} MiB reached"
        if self.limits.max_processes is not None and self._counter("pids", "pids.events", "max"):
            return f"Process limit of {self.limits.max_processes} reached"
        return None

    def peak_memory_bytes(self) -> int | None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        return _read_int(self.folders.get("memory"), name)

    def cpu_seconds(self) -> float | None:
        if self.version == 1:
            nanoseconds = _read_int(self.folders.get("cpuacct"), "cpuacct.usage")
            return None if nanoseconds is None else nanoseconds / 1e9
        microseconds = self._counter("cpu", "cpu.stat", "usage_usec")
        return None if "cpu" not in self.folders else microseconds / 1e6

    def pids(self) -> set[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(line) for line in procs.read_text().split())
        return found

    def kill(self, rounds: int = 50) -> list[int]:
        """SIGKILL every process in the cgroup until none is left (forks may race a round);
        the pids still there after `rounds` (stuck in the kernel, they die later)."""
        kill_file = next(iter(self.folders.values()), None)
        if self.version == 2 and kill_file is not None and (kill_file / "cgroup.kill").exists():
            with contextlib.suppress(OSError):
                (kill_file / "cgroup.kill").write_text("1")
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                return []
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        return sorted(self.pids())

    def remove(self) -> list[str]:
        """Kill what is left, then delete the cgroup's folders; the folders left behind
        (a process in them could not be killed)."""
        self.kill()
        left = []
        # A killed process leaves its cgroup a moment later; hundreds of them (a fork
        # bomb) on a busy machine, a few seconds later.
        deadline = time.monotonic() + REMOVE_SECONDS
        for folder in set(self.folders.values()):
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError as error:
                    if error.errno != errno.EBUSY:
                        left.append(f"{folder}: {error}")
                        break
                    if time.monotonic() > deadline:
                        left.append(f"{folder}: still holds processes")
                        break
                    time.sleep(0.05)
        return sorted(left)

    def _oom_kills(self) -> int:
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        return self._counter("memory", name, "oom_kill")

    def _counter(self, controller: str, name: str, key: str) -> int:
        folder = self.folders.get(controller)
        if folder is None:
            return 0
        try:
            lines = (folder / name).read_text().splitlines()
        except OSError:
            return 0
        for line in lines:
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
        return 0

    def _write(self, controller: str, name: str, value: object, optional: bool = False) -> None:
        try:
            (self.folders[controller] / name).write_text(str(value))
        except OSError:
            if not optional:
                raise


def _read_int(folder: Path | None, name: str) -> int | None:
    if folder is None:
        return None
    try:
        return int((folder / name).read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class _Mount:
    root: str
    point: Path
    fstype: str
    options: frozenset[str]


def _own_cgroups(text: str) -> dict[str, str]:
    """`/proc/self/cgroup` as {controller: path}; the v2 entry under the key ""."""
    own: dict[str, str] = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _cgroup_mounts(text: str) -> list[_Mount]:
    mounts = []
    for line in text.splitlines():
        head, _, tail = line.partition(" - ")
        fields, tail_fields = head.split(), tail.split()
        if len(fields) < 5 or len(tail_fields) < 3 or not tail_fields[0].startswith("cgroup"):
            continue
        options = frozenset(tail_fields[2].split(","))
        mounts.append(_Mount(fields[3], Path(fields[4]), tail_fields[0], options))
    return mounts


def _inside(mount: _Mount, own_path: str) -> Path:
    """The folder of our cgroup under `mount` (whose root may be a cgroup below `/`)."""
    relative = own_path if mount.root == "/" else os.path.relpath(own_path, mount.root)
    return mount.point / relative.lstrip("/") if relative != "." else mount.point


def _v1_parent(controller: str, own: Mapping[str, str], mounts: Iterable[_Mount]) -> Path | None:
    mount = next((m for m in mounts if m.fstype == "cgroup" and controller in m.options), None)
    if mount is None or controller not in own:
        return None
    parent = _inside(mount, own[controller]) / GROUP
    try:
        parent.mkdir(exist_ok=True)
    except OSError:
        return None
    return parent if os.access(parent, os.W_OK) else None


def _v2_parents(own: Mapping[str, str], mounts: Iterable[_Mount]) -> dict[str, Path]:
    mount = next((m for m in mounts if m.fstype == "cgroup2"), None)
    if mount is None or "" not in own:
        raise CgroupsUnavailable("no cgroup v1 memory or pids controller and no cgroup v2 mount")
    base = _inside(mount, own[""])
    available = set((base / "cgroup.controllers").read_text().split())
    wanted = [c for c in _V2_CONTROLLERS if c in available]
    if not wanted:
        raise CgroupsUnavailable(f"cgroup v2 at {base} delegates none of {_V2_CONTROLLERS}")
    parent = base / GROUP
    try:
        parent.mkdir(exist_ok=True)
        _enable(base, wanted)
        _enable(parent, wanted)
    except OSError as error:
        raise CgroupsUnavailable(f"cannot use cgroup v2 at {base}: {error}") from None
    return dict.fromkeys(wanted, parent)


def _enable(folder: Path, controllers: list[str]) -> None:
    """Let `folder`'s children use `controllers`. cgroup v2 refuses that while `folder`
    holds processes; if the only one is this process, it moves into a leaf first."""
    control = folder / "cgroup.subtree_control"
    text = " ".join(f"+{c}" for c in controllers)
    try:
        control.write_text(text)
    except OSError as error:
        if error.errno != errno.EBUSY:
            raise
        if set((folder / "cgroup.procs").read_text().split()) != {str(os.getpid())}:
            raise
        leaf = folder / "service"
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        control.write_text(text)
