"""`Environment.usage()` without a cgroup: sampled from the environment's processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobmanager.engine import Environment
from tests.integration.engine.conftest import execute, write_note

pytestmark = pytest.mark.timeout(120)
MIB = 1024 * 1024


def test_the_processes_peak_memory_and_cpu_time(fresh_env: Environment, tmp_path: Path) -> None:
    before = fresh_env.usage()
    assert before.source == "processes"
    assert before.peak_memory_bytes is not None and before.peak_memory_bytes < 200 * MIB
    note = write_note(
        tmp_path / "allocates.zpln",
        "%python\nblock = b'x' * (200 * 1024 * 1024)\ntotal = sum(range(5_000_000))\n"
        "del block",  # freed before the run ends: the peak must be kept all the same
    )
    result, _ = execute(fresh_env, note)
    assert result.outcome.value == "succeeded", result.message
    after = fresh_env.usage()
    assert after.peak_memory_bytes is not None and after.cpu_seconds is not None
    assert 200 * MIB <= after.peak_memory_bytes < 2048 * MIB
    assert after.cpu_seconds > (before.cpu_seconds or 0.0)
