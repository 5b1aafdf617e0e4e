"""Environments for jobs: the spec a configuration asks for, and a warm pool.

An environment serves one job and is destroyed after it. To keep submit-to-finish
latency low, the pool starts environments ahead of time — never reusing one: a
taken environment is replaced by a fresh one in the background.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from jobmanager.common.home import cache_folder, environments_folder, pythons_folder
from jobmanager.domain import egress
from jobmanager.engine import Environment, EnvironmentSpec, Limits
from jobmanager.engine.cgroups import CgroupsUnavailable, Hierarchy
from jobmanager.engine.kernel import KernelError
from jobmanager.engine.network import Egress, NetworkStack, NetworkUnavailable, host_addresses
from jobmanager.engine.pythons import python_for
from jobmanager.engine.sandbox import (
    Sandbox,
    SandboxUnavailable,
    find_bwrap,
    runtime_view,
    write_etc,
)
from jobmanager.engine.seccomp import SeccompUnavailable, write_filter
from jobmanager.startup.settings import Settings

log = logging.getLogger("jobmanager.environments")
MIB = 1024 * 1024
TAKE_WAIT_SECONDS = 60.0  # a starting environment later than this: the taker starts its own
CLOSE_WAIT_SECONDS = 60.0  # for environments still starting when the pool closes
STARTS_PER_CORE = 2  # background environment starts at once (see EnvironmentPool)


class ConfigurationLike(Protocol):
    """The parts of a configuration an environment is made from."""

    @property
    def memory_mib(self) -> int | None: ...

    @property
    def max_processes(self) -> int | None: ...

    @property
    def disk_mib(self) -> int | None: ...

    @property
    def cpus(self) -> float | None: ...

    @property
    def runtime(self) -> str: ...

    @property
    def packages(self) -> Sequence[str]: ...

    @property
    def network(self) -> str: ...

    @property
    def network_allow(self) -> Sequence[str]: ...

    @property
    def environment_variables(self) -> Mapping[str, str]: ...


class IsolationUnavailable(RuntimeError):
    """Environments cannot be isolated as the settings ask; the message says how to fix it."""


class NetworkRefused(RuntimeError):
    """A configuration asks for network where no job can have one; the message says why."""


@dataclass(frozen=True)
class Isolation:
    """What every environment of this process is made with: where it lives, the sandbox
    (None for `process` isolation), the cgroups that hold its limits (None where the host
    gives none), the network stack of sandboxes with network (None where it is missing,
    `network_missing` saying why), the destinations the operator allows, and the limits
    of a configuration that sets none."""

    home: Path
    sandbox: Sandbox | None
    cgroups: Hierarchy | None
    default_memory_mib: int
    default_max_processes: int
    default_disk_mib: int
    seed: Path  # what every sandbox's home starts with (see `prepare_seed`)
    network: NetworkStack | None = None
    network_missing: str = ""
    network_allow: tuple[str, ...] = ()
    network_destinations: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        if self.sandbox is None:
            return (
                "isolation: process: jobs run as the service's user and can read what it "
                "reads (its home, keys and database included): only for a single trusted user"
            )
        limits = (
            f"memory, processes and CPU through {self.cgroups.describe()}"
            if self.cgroups is not None
            else "no cgroups here: memory and processes limited per process (rlimits)"
        )
        return f"isolation: sandbox (bubblewrap {self.sandbox.bwrap}, seccomp); {limits}"

    def announce(self, logger: logging.Logger) -> None:
        """Say at start what jobs are isolated with and whether they can have network
        (a warning when they are less isolated than by default, or cannot)."""
        logger.log(logging.INFO if self.sandbox else logging.WARNING, self.describe())
        level = logging.WARNING if self.network_missing else logging.INFO
        logger.log(level, self.describe_network())

    def describe_network(self) -> str:
        """One line on what `network: allowed` gets here."""
        if self.sandbox is None:
            return "network: process isolation: a job with network shares the host's"
        if self.network is None:
            return (
                f"network: {self.network_missing}: jobs whose configuration asks for network "
                "are refused; jobs with `network: none` run"
            )
        return f"network: a namespace of each environment's own through {self.network.slirp4netns}"


def open_isolation(settings: Settings) -> Isolation:
    """Check at start-up that environments can be made as the settings ask (the network
    stack aside: without it, only jobs that ask for network are refused)."""
    sandbox = cgroups = network = None
    missing = ""
    if settings.isolation == "sandbox":
        try:
            sandbox = Sandbox(
                find_bwrap(settings.bwrap),
                readonly=tuple(str(p.resolve()) for p in settings.sandbox_paths),
                hidden=(str(settings.home),),
                seccomp=write_filter(environments_folder(settings.home) / "seccomp.bpf"),
            )
        except (SandboxUnavailable, SeccompUnavailable) as error:
            raise IsolationUnavailable(str(error)) from None
        unavailable, network, missing = _probe_host(sandbox)
        if unavailable:
            raise IsolationUnavailable(unavailable)
        try:
            cgroups = Hierarchy.detect()
        except (CgroupsUnavailable, OSError) as error:
            log.warning("no cgroups for environments (%s): limits are per process", error)
    return Isolation(
        home=settings.home,
        sandbox=sandbox,
        cgroups=cgroups,
        default_memory_mib=settings.default_memory_mib,
        default_max_processes=settings.default_max_processes,
        default_disk_mib=settings.default_disk_mib,
        # Built in a sandbox, naming fonts where sandboxes see them (`runtime_view`).
        seed=cache_folder() / f"sandbox-home-{sys.version_info.minor}-opt",
        network=network,
        network_missing=missing,
        network_allow=tuple(settings.network_allow),
        network_destinations=tuple(settings.network_destinations.items()),
    )


_PROBED: dict[tuple[str, tuple[str, ...]], tuple[str, NetworkStack | None, str]] = {}
_PROBING = threading.Lock()


def _probe_host(sandbox: Sandbox) -> tuple[str, NetworkStack | None, str]:
    """What this host lets a sandbox do, found by trying, once per process and bubblewrap
    (the host does not change under a running process): why no sandbox can be made ("" if
    one can), the network stack, and why there is none ("" if there is)."""
    key = (sandbox.bwrap, sandbox.readonly)
    with _PROBING:
        if key not in _PROBED:
            _PROBED[key] = _probe(sandbox)
        return _PROBED[key]


def _probe(sandbox: Sandbox) -> tuple[str, NetworkStack | None, str]:
    try:
        sandbox.probe()
    except SandboxUnavailable as error:
        return str(error), None, ""
    try:
        return "", _probe_network(sandbox), ""
    except NetworkUnavailable as error:
        return "", None, str(error)
    except (OSError, subprocess.SubprocessError) as error:
        return "", None, f"the job's network cannot be made here ({error})"


def _probe_network(sandbox: Sandbox) -> NetworkStack:
    """The network stack, once it gave a sandbox a network namespace with its rules."""
    stack = NetworkStack.find(sandbox.bwrap)
    with tempfile.TemporaryDirectory(prefix="jm-probe-") as folder:
        tmp = Path(folder)
        write_etc(tmp / "etc", sys.executable)
        network = stack.start(Egress(stack, egress.blocked()), tmp / "network.log")
        try:
            argv = [str(runtime_view(sys.executable).python), "-c", "import os; os.getuid()"]
            command = sandbox.command(
                argv,
                python=sys.executable,
                cwd=Path("/tmp"),
                tmp=tmp,
                etc=tmp / "etc",
                network=network.enter,
            )
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        finally:
            network.close()
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise NetworkUnavailable(f"a sandbox cannot join its network namespace: {said[0]}")
    return stack


def prepare_seed(isolation: Isolation) -> None:
    """Build, once, what a sandbox's home starts with: matplotlib's font cache, which
    takes a second to build on first use and would otherwise be built in every job. It
    is built in a sandbox, so that it names the fonts where sandboxes see them."""
    sandbox = isolation.sandbox
    if sandbox is None or isolation.seed.exists():
        return
    isolation.seed.parent.mkdir(parents=True, exist_ok=True)
    building = isolation.seed.with_name(f"{isolation.seed.name}.{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="jm-seed-") as etc:
        write_etc(Path(etc), sys.executable)
        building.mkdir(parents=True, exist_ok=True)
        argv = [str(runtime_view(sys.executable).python), "-c", "import matplotlib.font_manager"]
        command = sandbox.command(
            argv, python=sys.executable, cwd=Path("/tmp"), tmp=building, etc=Path(etc)
        )
        env = {"HOME": "/tmp", "MPLBACKEND": "Agg", "PATH": os.defpath}
        done = subprocess.run(command, env=env, capture_output=True, timeout=300)
    if done.returncode == 0 and not isolation.seed.exists():
        with contextlib.suppress(OSError):  # another process was quicker
            building.rename(isolation.seed)
    shutil.rmtree(building, ignore_errors=True)


def spec_for(
    configuration: ConfigurationLike, isolation: Isolation, max_seconds: int
) -> EnvironmentSpec:
    """The environment a configuration asks for. CPU time is capped at what `cpus` could
    use over the job's whole time limit. With packages, their cached virtual environment
    is built first if it does not exist yet (this can take minutes)."""
    home = isolation.home
    memory_mib = configuration.memory_mib or isolation.default_memory_mib
    cpus = configuration.cpus
    network = configuration.network != "none"
    return EnvironmentSpec(
        python=python_for(configuration.runtime, configuration.packages, pythons_folder(home)),
        limits=Limits(
            memory_bytes=memory_mib * MIB,
            cpu_seconds=int(max_seconds * cpus) + 30 if cpus else None,
            max_processes=configuration.max_processes or isolation.default_max_processes,
            disk_bytes=(configuration.disk_mib or isolation.default_disk_mib) * MIB,
            cpus=cpus,
            network=network,
        ),
        env_vars=dict(configuration.environment_variables),
        base_dir=environments_folder(home),
        sandbox=isolation.sandbox,
        cgroups=isolation.cgroups,
        seed=isolation.seed if isolation.sandbox is not None else None,
        egress=egress_for(configuration, isolation) if network else None,
    )


def egress_for(configuration: ConfigurationLike, isolation: Isolation) -> Egress | None:
    """The egress rules of a configuration's jobs (None under the `process` isolation,
    where a job shares the host's network); `NetworkRefused` where no job can have
    network here."""
    if isolation.sandbox is None:
        return None
    if isolation.network is None:
        raise NetworkRefused(f"the configuration asks for network, and {isolation.network_missing}")
    named = dict(isolation.network_destinations)
    allowed = egress.allowed(isolation.network_allow, named, configuration.network_allow)
    own = host_addresses(
        [[address.address for address in addresses] for addresses in psutil.net_if_addrs().values()]
    )
    return Egress(
        isolation.network,
        blocked=egress.blocked(own),
        allowed=tuple((str(a.destination.host), a.destination.port) for a in allowed),
    )


class EnvironmentPool:
    """Warm environments by spec, at most `capacity` of them in all (started or starting).

    A job takes a warm environment of its spec; with none warm but one starting, it waits
    for that one (started earlier, it is ready sooner than a new one would be); only with
    neither does it start one itself. Every take starts a replacement at once. When the
    pool is full and a spec with nothing warm is asked for, the warm environment of the
    spec taken least recently makes room, so the pool follows what jobs ask for. At most
    `parallel` environments start at once in the background, by default two per core:
    a start is about two thirds waiting (the sandbox, the kernel's imports, its first
    reply), so one per core left the cores a third idle in a burst; four per core gave
    no more (docs/speed.md).
    """

    def __init__(self, capacity: int, parallel: int | None = None) -> None:
        self.capacity = capacity
        self._starts = threading.BoundedSemaphore(
            parallel or STARTS_PER_CORE * (os.cpu_count() or 1)
        )
        self._warm: dict[Hashable, list[Environment]] = defaultdict(list)
        self._starting: dict[Hashable, int] = defaultdict(int)
        self._waiting: dict[Hashable, int] = defaultdict(int)  # takers promised a starting one
        self._last_taken: dict[Hashable, float] = {}
        self._changed = threading.Condition()
        self._closed = False
        self._unfinished = 0  # background starts not yet over (an environment kept or destroyed)

    def warm_count(self) -> int:
        """Environments started and waiting for a job."""
        with self._changed:
            return sum(len(envs) for envs in self._warm.values())

    def take(self, spec: EnvironmentSpec) -> Environment:
        """A started environment for `spec`: a warm one, one starting, else a new one."""
        key = _key(spec)
        with self._changed:
            self._last_taken[key] = time.monotonic()
            shelf = self._warm[key]
            # Off the shelf before the replacement is asked for: a full pool makes room
            # for it only where the spec has nothing warm.
            warm = shelf.pop() if shelf else None
            promised = warm is None and self._starting[key] > self._waiting[key]
            self._waiting[key] += promised
        self.prewarm(spec)  # the replacement starts now, not once this take is served
        if warm is not None:
            return warm
        with self._changed:
            if promised:
                self._changed.wait_for(
                    # warm, closed, or the start it counted on failed
                    lambda: bool(shelf) or self._closed or self._starting[key] < self._waiting[key],
                    TAKE_WAIT_SECONDS,
                )
                self._waiting[key] -= 1
            warm = shelf.pop() if shelf else None
        return warm if warm is not None else Environment.start(spec)

    def prewarm(self, spec: EnvironmentSpec) -> None:
        """Start one environment for `spec` in the background if there is room."""
        key = _key(spec)
        evicted = None
        with self._changed:
            if self._closed or self.capacity == 0:
                return
            if self._held() >= self.capacity:
                evicted = self._make_room(key)
                if evicted is None:
                    return
            self._starting[key] += 1
            self._unfinished += 1
        threading.Thread(target=self._start_one, args=(spec,), daemon=True).start()
        if evicted is not None:
            evicted.destroy()

    def _held(self) -> int:
        """Environments warm or starting that no taker is promised yet."""
        warm = sum(len(envs) for envs in self._warm.values())
        starting = sum(self._starting.values()) - sum(self._waiting.values())
        return warm + starting

    def _make_room(self, key: Hashable) -> Environment | None:
        """With the pool full, the warm environment of the spec taken least recently, if
        `key` holds none and another spec does."""
        if self._warm[key] or self._starting[key] > self._waiting[key]:
            return None
        others = [other for other, envs in self._warm.items() if envs and other != key]
        if not others:
            return None
        oldest = min(others, key=lambda other: self._last_taken.get(other, 0.0))
        return self._warm[oldest].pop(0)

    def _start_one(self, spec: EnvironmentSpec) -> None:
        try:
            self._start_or_destroy(spec)
        finally:
            with self._changed:
                self._unfinished -= 1
                self._changed.notify_all()

    def _started_none(self, key: Hashable) -> None:
        with self._changed:
            self._starting[key] -= 1
            self._changed.notify_all()  # a waiting taker starts its own

    def _start_or_destroy(self, spec: EnvironmentSpec) -> None:
        """Start one; keep it warm, or destroy it when the pool closed meanwhile."""
        key = _key(spec)
        try:
            with self._starts:
                environment = Environment.start(spec)
        except (KernelError, OSError) as error:  # its first line says why (a full disk, say)
            log.warning(
                "could not pre-start an environment: %s",
                (str(error).splitlines() or [repr(error)])[0],
            )
            self._started_none(key)
            return
        except Exception:
            log.exception("could not pre-start an environment")
            self._started_none(key)
            return
        with self._changed:
            self._starting[key] -= 1
            if not self._closed:
                self._warm[key].append(environment)
                self._changed.notify_all()
                return
        environment.destroy()

    def close(self) -> None:
        """Destroy the warm environments, and wait for those starting to be destroyed as
        they come up: none outlives the pool, even one closed as it fills."""
        with self._changed:
            self._closed = True
            environments = [env for envs in self._warm.values() for env in envs]
            self._warm.clear()
            self._changed.notify_all()
        for environment in environments:
            environment.destroy()
        with self._changed:
            self._changed.wait_for(lambda: self._unfinished == 0, CLOSE_WAIT_SECONDS)


def _key(spec: EnvironmentSpec) -> Hashable:
    """Specs with equal settings share a shelf (a spec holds a dict, so it is not hashable)."""
    env_vars = tuple(sorted(spec.env_vars.items()))
    return (spec.python, spec.limits, env_vars, spec.base_dir, spec.sandbox, spec.egress)
