"""Teardown is bounded: a kernel or process that cannot die, a folder that cannot be
removed, a shell that runs on after closing its output. Each is made for real (see
`tests.integration.stuck`); the run or the teardown still ends in time, and what was
left behind is logged."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jobmanager.engine import Environment, EnvironmentSpec, Outcome
from jobmanager.engine.processes import MARKER_VARIABLE
from jobmanager.engine.teardown import remove_orphans
from tests.integration.engine.conftest import execute, write_note
from tests.integration.stuck import frozen, mounted, needs_freezer, processes_named

SETSID_SLEEP = "%sh\nsetsid sleep 600 < /dev/null > /dev/null 2>&1 &\necho started"


@needs_freezer
def test_a_kernel_and_a_process_that_cannot_die_hold_destroy_only_for_a_while(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = Environment.start(EnvironmentSpec(base_dir=tmp_path))
    note = write_note(tmp_path / "n.zpln", SETSID_SLEEP, "%python\nprint('done')")
    result, _ = execute(env, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    kernel = env.kernel("python").pid
    assert kernel is not None
    (sleeper,) = processes_named("sleep", env.marker)
    caplog.set_level(logging.WARNING, logger="jobmanager.engine.teardown")
    with frozen([kernel, sleeper]):
        started = time.monotonic()
        clean = env.destroy()
        took = time.monotonic() - started
    assert not clean
    assert took < 30, f"destroy took {took:.0f} s"
    assert f"process {kernel} survived SIGKILL" in caplog.text
    assert f"process {sleeper} survived SIGKILL" in caplog.text
    assert not env.root.exists()  # the rest of the teardown went on


@needs_freezer
def test_a_folder_that_cannot_be_removed_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = Environment.start(EnvironmentSpec(base_dir=tmp_path))
    stuck = env.input_dir / "mounted"
    caplog.set_level(logging.WARNING, logger="jobmanager.engine.teardown")
    with mounted(stuck):
        started = time.monotonic()
        clean = env.destroy()
        took = time.monotonic() - started
    assert not clean and took < 20
    assert f"removing {env.root} left behind {stuck}" in caplog.text
    shutil.rmtree(env.root)


def test_a_shell_that_closes_its_output_and_runs_on_ends_at_the_deadline(
    fresh_env: Environment, tmp_path: Path
) -> None:
    note = write_note(
        tmp_path / "n.zpln", "%sh\nexec > /dev/null 2>&1\nsleep 600", "%python\nprint(1)"
    )
    started = time.monotonic()
    result, executed = execute(fresh_env, note, deadline=time.monotonic() + 3, grace=1)
    assert time.monotonic() - started < 15
    assert result.outcome is Outcome.TIMED_OUT
    assert executed["paragraphs"][0]["status"] == "ABORT"


def test_orphans_are_killed_by_their_marker_and_removed_and_held_ones_kept(
    tmp_path: Path,
) -> None:
    """What a crashed process left: a folder with a process of its own session still
    running in it goes, process and all; a folder a live job holds stays."""
    orphan, held = tmp_path / "orphan", tmp_path / "held"
    for root in (orphan, held):
        (root / "input").mkdir(parents=True)
    env = {**os.environ, MARKER_VARIABLE: "orphan-marker", "inputFolder": str(orphan / "input")}
    sleeper = subprocess.Popen(["sleep", "600"], env=env, start_new_session=True)
    try:
        assert remove_orphans(tmp_path, {str(held)}, None) == 1
        sleeper.wait(5)  # it ended (reaped by the kill itself: its status is gone)
        assert not orphan.exists() and held.is_dir()
    finally:
        sleeper.kill()
