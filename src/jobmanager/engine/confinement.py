"""How an environment's processes are started and held to its limits.

Two kinds, one interface: `ProcessConfinement` runs them as the service's user with
per-process limits (the `process` isolation, for a single trusted user), and
`SandboxConfinement` runs each in a bubblewrap sandbox inside the environment's cgroup
(the default). The kernels and `%sh` of an environment ask the same object for their
command line, so every process of the environment is confined alike.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from jobmanager.engine.cgroups import Cgroup
from jobmanager.engine.layout import Layout
from jobmanager.engine.network import JobNetwork
from jobmanager.engine.processes import KILL_SECONDS, kill_all
from jobmanager.engine.sandbox import ENGINE_FILES, WORKDIR, Sandbox, runtime_view

LIMITS_FAILED = 97  # the exit code of a wrapper that could not apply a limit
_ENTER_CGROUP = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 96; shift; done; shift; exec "$@"'


class ConfinementError(RuntimeError):
    """The host cannot confine processes as asked (e.g. no network namespaces)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of an environment (`None`: no limit).

    `memory_bytes` and `max_processes` hold for the whole environment where a cgroup
    enforces them, else per process (address space; RLIMIT_NPROC, which counts every
    process of the user and so means something only for a dedicated user).
    `disk_bytes` bounds the work directory and `/tmp` (watched) and any one file
    (RLIMIT_FSIZE); `cpus` is a CPU quota (cgroup only); `cpu_seconds` is per process.
    """

    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    max_processes: int | None = None
    disk_bytes: int | None = None
    cpus: float | None = None
    # False: a network namespace of its own, with loopback only. True: in a sandbox, the
    # environment's network namespace with its egress rules (see `network`); under the
    # `process` isolation, the host's network.
    network: bool = True

    def ulimit(self, *, address_space: bool = True, processes: bool = True) -> str:
        """A bash statement applying the per-process limits ("" if there are none)."""
        parts = []
        if address_space and self.memory_bytes is not None:
            parts.append(f"-v {max(1, self.memory_bytes // 1024)}")
        if self.cpu_seconds is not None:
            parts.append(f"-t {self.cpu_seconds}")
        if processes and self.max_processes is not None:
            parts.append(f"-u {self.max_processes}")
        if self.disk_bytes is not None:
            parts.append(f"-f {max(1, self.disk_bytes // 1024)}")
        return f"ulimit {' '.join(parts)} || exit {LIMITS_FAILED}" if parts else ""


def with_ulimit(statement: str, argv: Sequence[str]) -> list[str]:
    """`argv` run after `statement` (bash applies it, then execs: same pid)."""
    if not statement:
        return list(argv)
    return ["bash", "-c", statement + '; exec "$@"', "jobmanager-limits", *argv]


class Confinement(ABC):
    """What an environment's processes run under."""

    # How a kernel is interrupted: a signal to its process, or a Jupyter message (a
    # sandboxed kernel's process is not the one the service started).
    interrupt_mode = "signal"
    # Options of a kernel started here.
    kernel_options: tuple[str, ...] = ()

    @abstractmethod
    def command(
        self,
        argv: Sequence[str],
        cwd: Path,
        writable: Sequence[Path] = (),
        readonly: Sequence[Path] = (),
    ) -> list[str]:
        """The command line that runs `argv` in the environment, in its folder `cwd` (a
        host path); `writable` and `readonly` are extra host paths it needs (a kernel's
        sockets and connection file), which `argv` names as `inside(path)` does."""

    def inside(self, path: Path) -> Path:
        """Where processes of the environment see the host path `path`."""
        return path

    def terminate(self, process: subprocess.Popen[bytes]) -> None:
        """Ask `process` (started from `command`) and what it started to end (SIGTERM)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)

    def kill_tree(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL `process`, its process group and its descendants."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        kill_all([process.pid], None)

    def breach(self) -> str | None:
        """A limit of the whole environment that was hit, in words, or None."""
        return None

    def kill_all(self, roots: Sequence[int], marker: str | None) -> list[int]:
        """SIGKILL the process trees of `roots` and, given the environment's `marker`,
        every other process of the environment: here, found by the marker variable in
        their environment (a scan of every process on the host). The pids that
        survived (see `processes.kill_all`)."""
        return kill_all(roots, marker)

    def close(self) -> list[str]:
        """Release what the confinement holds (after `kill`); what it left behind."""
        return []


class ProcessConfinement(Confinement):
    """The service's own user and view of the machine, with per-process limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def command(
        self,
        argv: Sequence[str],
        cwd: Path,
        writable: Sequence[Path] = (),
        readonly: Sequence[Path] = (),
    ) -> list[str]:
        wrapped = with_ulimit(self.limits.ulimit(), argv)
        return wrapped if self.limits.network else [*_no_network(), *wrapped]


class SandboxConfinement(Confinement):
    """Every process in a bubblewrap sandbox seeing only the environment's work directory
    and `/tmp` read-write, all of them in the environment's cgroup when there is one, and
    in its network namespace (`network`) when it has one, else each with loopback only."""

    interrupt_mode = "message"
    # The kernel's parent is the sandbox's init, pid 1: its parent watch would take that
    # for an orphaned kernel and exit. The sandbox dies with the service anyway.
    kernel_options = ("--IPKernelApp.parent_handle=0",)

    def __init__(
        self,
        sandbox: Sandbox,
        python: str,
        layout: Layout,
        limits: Limits,
        cgroup: Cgroup | None,
        readonly: Sequence[Path] = (),
        network: JobNetwork | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.python = python
        self.layout = layout
        self.limits = limits
        self.cgroup = cgroup
        self.readonly = tuple(readonly)
        self.network = network

    def command(
        self,
        argv: Sequence[str],
        cwd: Path,
        writable: Sequence[Path] = (),
        readonly: Sequence[Path] = (),
    ) -> list[str]:
        controllers = set(self.cgroup.folders) if self.cgroup is not None else set()
        statement = self.limits.ulimit(
            address_space="memory" not in controllers,
            # RLIMIT_NPROC counts every process of the host user: it does not bind root,
            # and for another user it counts the user's other processes too; without a
            # pids cgroup it is still the only bound on forks.
            processes="pids" not in controllers and os.geteuid() != 0,
        )
        boxed = self.sandbox.command(
            with_ulimit(statement, argv),
            python=self.python,
            cwd=self.inside(cwd),
            tmp=self.layout.tmp_dir,
            writable=[(p, self.inside(p)) for p in (self.layout.workdir, *writable)],
            readonly=[(p, self.inside(p)) for p in (*self.readonly, *readonly)],
            etc=self.layout.etc_dir,
            network=self.network.enter if self.network is not None else None,
        )
        if self.cgroup is None:
            return boxed
        files = [str(path) for path in self.cgroup.procs_files]
        return ["/bin/sh", "-c", _ENTER_CGROUP, "jobmanager-cgroup", *files, "--", *boxed]

    def inside(self, path: Path) -> Path:
        """The work folder is `/job` inside; the engine's files (a kernel's connection
        file) are under `/run/jobmanager`; the interpreter is the sandbox's own (see
        `sandbox.Runtime`); other paths (runtimes, sockets) keep theirs."""
        if path == Path(self.python):
            return runtime_view(self.python).python
        if path.is_relative_to(self.layout.workdir):
            return WORKDIR / path.relative_to(self.layout.workdir)
        if path.is_relative_to(self.layout.root):
            return ENGINE_FILES / path.relative_to(self.layout.root)
        return path

    def terminate(self, process: subprocess.Popen[bytes]) -> None:
        """SIGTERM the command run inside the sandbox (the child of the sandbox's init),
        not bubblewrap itself: bubblewrap would die of it and take the sandbox down
        without the grace period. The command passes it on as it sees fit, as a shell
        does to its foreground job when a terminal closes."""
        for init in _children(process.pid):
            for command in _children(init):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(command, signal.SIGTERM)

    def kill_tree(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL bubblewrap: its sandbox's PID namespace ends with it, whatever runs in
        it; no need to look for each of its processes (there may be a fork bomb's)."""
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # reaped later if stuck
            process.wait(KILL_SECONDS)

    def breach(self) -> str | None:
        return self.cgroup.breach() if self.cgroup is not None else None

    def kill_all(self, roots: Sequence[int], marker: str | None) -> list[int]:
        """Killing a sandbox's bubblewrap ends its PID namespace, and the cgroup holds
        every process of the environment: no scan of the host's processes needed."""
        for root in roots:
            with contextlib.suppress(ProcessLookupError):
                os.kill(root, signal.SIGKILL)
        if marker is not None and self.cgroup is not None:
            return self.cgroup.kill()
        if marker is not None:
            return kill_all(roots, None)  # no cgroup: the trees are all there is to go by
        return []

    def close(self) -> list[str]:
        if self.network is not None:
            self.network.close()
        return self.cgroup.remove() if self.cgroup is not None else []


def _children(pid: int) -> list[int]:
    """The children of `pid`, as the kernel lists them: no scan of every process, which
    would be slow in the middle of a fork bomb."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except FileNotFoundError:  # gone, or a kernel without the list
        with contextlib.suppress(psutil.Error):
            return [child.pid for child in psutil.Process(pid).children()]
        return []


@functools.cache
def _no_network() -> list[str]:
    """The prefix that runs a command without network: `unshare --net` (util-linux)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise ConfinementError("network 'none' needs the unshare command (util-linux)")
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise ConfinementError(
            "network 'none' needs the right to make network namespaces "
            f"(unshare --net: {probe.stderr.strip() or probe.returncode})"
        )
    return [unshare, "--net", "--"]
