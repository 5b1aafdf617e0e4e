"""The warm pool with real environments (kernels without the sandbox, to keep it quick):
a take finds the environment already starting, and a full pool makes room for the spec
jobs ask for."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobmanager.engine import Environment, EnvironmentSpec
from jobmanager.jobrun.environment_pool import EnvironmentPool


@pytest.fixture
def pool() -> Iterator[EnvironmentPool]:
    made = EnvironmentPool(capacity=1, parallel=1)
    yield made
    made.close()


def spec(base: Path, name: str) -> EnvironmentSpec:
    return EnvironmentSpec(base_dir=base, env_vars={"POOL_TEST": name})


def folders(base: Path) -> set[Path]:
    return set(base.iterdir()) if base.exists() else set()


def eventually(check: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def test_a_take_gets_the_environment_already_starting(
    pool: EnvironmentPool, tmp_path: Path
) -> None:
    wanted = spec(tmp_path, "a")
    pool.prewarm(wanted)
    eventually(lambda: len(folders(tmp_path)) == 1)  # it is starting
    first = folders(tmp_path)
    environment = pool.take(wanted)
    try:
        assert environment.root in first  # not a second, cold one
        eventually(lambda: pool.warm_count() == 1)  # and its replacement is warm
    finally:
        environment.destroy()


def test_a_full_pool_makes_room_for_the_spec_jobs_ask_for(
    pool: EnvironmentPool, tmp_path: Path
) -> None:
    old, new = spec(tmp_path / "old", "old"), spec(tmp_path / "new", "new")
    pool.prewarm(old)
    eventually(lambda: pool.warm_count() == 1)
    taken: list[Environment] = [pool.take(new)]  # none warm: started for the job
    try:
        eventually(lambda: pool.warm_count() == 1 and not folders(tmp_path / "old"))
        warm = folders(tmp_path / "new") - {taken[0].root}
        taken.append(pool.take(new))
        assert {taken[1].root} == warm  # the one warmed for the spec, no cold start
    finally:
        for environment in taken:
            environment.destroy()


def test_a_take_from_a_full_pool_starts_its_replacement(
    pool: EnvironmentPool, tmp_path: Path
) -> None:
    """The taken environment leaves the shelf before its replacement is asked for: a
    full pool would otherwise find the spec warm and start none, and every other job of
    a spec that is not the pre-warmed one would start cold."""
    wanted = spec(tmp_path, "a")
    pool.prewarm(wanted)
    eventually(lambda: pool.warm_count() == 1)
    environment = pool.take(wanted)
    try:
        eventually(lambda: pool.warm_count() == 1)
    finally:
        environment.destroy()
