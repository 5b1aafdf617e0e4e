"""The watchdog ends a run whose own writes fill the disk (a small tmpfs the test mounts),
and leaves alone one whose disk something else filled."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.engine.watchdog import DISK_FULL, INTERVAL_SECONDS, Watchdog
from tests.tmpfs import fill, small_disk


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 16) as mounted:
        (mounted / "work").mkdir()
        yield mounted


def breach_within(dog: Watchdog, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if dog.check() is not None:
            return dog.check()
        time.sleep(0.05)
    return None


def test_a_run_whose_writes_fill_the_disk_ends_saying_so(disk: Path) -> None:
    with Watchdog([disk / "work"], None, lambda: None) as dog:
        (disk / "work" / "small.txt").write_text("before")
        fill(disk / "work" / "big.bin")
        assert breach_within(dog, 4 * INTERVAL_SECONDS) == f"{DISK_FULL}: the job's files filled it"


def test_a_disk_another_filled_ends_no_run(disk: Path) -> None:
    with Watchdog([disk / "work"], None, lambda: None) as dog:
        fill(disk / "elsewhere.bin")
        assert breach_within(dog, 4 * INTERVAL_SECONDS) is None
    assert dog.breach is None
