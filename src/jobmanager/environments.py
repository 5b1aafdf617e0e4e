"""Environments for jobs: the spec a configuration asks for, and a warm pool.

An environment serves one job and is destroyed after it. To keep submit-to-finish
latency low, the pool starts environments ahead of time — never reusing one: a
taken environment is replaced by a fresh one in the background.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import psutil

from jobmanager.engine import Environment, EnvironmentSpec, Limits
from jobmanager.engine.processes import MARKER_VARIABLE, kill_all
from jobmanager.engine.pythons import python_for

log = logging.getLogger("jobmanager.environments")
MIB = 1024 * 1024


class ConfigurationLike(Protocol):
    """The parts of a configuration an environment is made from."""

    @property
    def memory_mib(self) -> int | None: ...

    @property
    def cpus(self) -> float | None: ...

    @property
    def runtime(self) -> str: ...

    @property
    def packages(self) -> Sequence[str]: ...

    @property
    def network(self) -> str: ...

    @property
    def environment_variables(self) -> Mapping[str, str]: ...


def spec_for(configuration: ConfigurationLike, home: Path, max_seconds: int) -> EnvironmentSpec:
    """The environment a configuration asks for, under `home`. CPU time is capped at what
    `cpus` could use over the job's whole time limit. With packages, their cached virtual
    environment is built first if it does not exist yet (this can take minutes)."""
    memory = configuration.memory_mib * MIB if configuration.memory_mib else None
    cpu_seconds = int(max_seconds * configuration.cpus) + 30 if configuration.cpus else None
    return EnvironmentSpec(
        python=python_for(configuration.runtime, configuration.packages, home / "pythons"),
        limits=Limits(
            memory_bytes=memory, cpu_seconds=cpu_seconds, network=configuration.network != "none"
        ),
        env_vars=dict(configuration.environment_variables),
        base_dir=home / "environments",
    )


class EnvironmentPool:
    """Warm environments by spec, at most `capacity` of them in all."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._warm: dict[Hashable, list[Environment]] = defaultdict(list)
        self._starting = 0
        self._lock = threading.Lock()
        self._closed = False

    def take(self, spec: EnvironmentSpec) -> Environment:
        """A started environment for `spec`: a warm one if there is one, else a new one."""
        with self._lock:
            shelf = self._warm[_key(spec)]
            warm = shelf.pop() if shelf else None
        self.prewarm(spec)
        return warm if warm is not None else Environment.start(spec)

    def prewarm(self, spec: EnvironmentSpec) -> None:
        """Start one environment for `spec` in the background if there is room."""
        with self._lock:
            held = sum(len(envs) for envs in self._warm.values()) + self._starting
            if self._closed or held >= self.capacity:
                return
            self._starting += 1
        threading.Thread(target=self._start_one, args=(spec,), daemon=True).start()

    def _start_one(self, spec: EnvironmentSpec) -> None:
        try:
            environment = Environment.start(spec)
        except Exception:
            log.exception("could not pre-start an environment")
            with self._lock:
                self._starting -= 1
            return
        with self._lock:
            self._starting -= 1
            if not self._closed:
                self._warm[_key(spec)].append(environment)
                return
        environment.destroy()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            environments = [env for envs in self._warm.values() for env in envs]
            self._warm.clear()
        for environment in environments:
            environment.destroy()


def _key(spec: EnvironmentSpec) -> Hashable:
    """Specs with equal settings share a shelf (a spec holds a dict, so it is not hashable)."""
    return (spec.python, spec.limits, tuple(sorted(spec.env_vars.items())), spec.base_dir)


def remove_orphans(base_dir: Path, keep: set[str]) -> int:
    """Kill and delete environments under `base_dir` that no live job holds.

    After a crash, the kernels of the lost process (warm ones included) live on in
    their own sessions; the reaper has already salvaged what jobs left, so the rest
    is debris. Returns how many environments were removed.
    """
    if not base_dir.is_dir():
        return 0
    orphans = {p.resolve() for p in base_dir.iterdir() if p.is_dir()} - {
        Path(k).resolve() for k in keep
    }
    if not orphans:
        return 0
    markers = set()
    for process in psutil.process_iter():
        try:
            environ = process.environ()
        except (psutil.Error, OSError):
            continue
        marker, folder = environ.get(MARKER_VARIABLE), environ.get("inputFolder", "")
        if marker and any(Path(folder).is_relative_to(root) for root in orphans):
            markers.add(marker)
    for marker in markers:
        kill_all([], marker)
    for root in orphans:
        shutil.rmtree(root, ignore_errors=True)
    return len(orphans)
