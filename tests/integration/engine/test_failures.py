"""Deadlines, stops, runaway processes, memory limits and output floods."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from jobmanager.engine import Environment, EnvironmentSpec, KernelError, Limits, Outcome, Progress
from jobmanager.engine.paragraphs import KERNEL_DIED
from jobmanager.engine.processes import MARKER_VARIABLE
from tests.integration.engine.conftest import execute, results, write_note

pytestmark = pytest.mark.timeout(90)


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def marked(marker: str) -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(MARKER_VARIABLE) == marker and proc.status() != "zombie":
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_endless_loop_is_cut_by_the_deadline(fresh_env: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln", "print('before')", "while True:\n    pass", "print('never')"
    )
    started = time.monotonic()
    result, executed = execute(fresh_env, note, deadline=time.monotonic() + 2, grace=1)
    assert time.monotonic() - started < 6
    assert result.outcome is Outcome.TIMED_OUT
    assert result.message == ("The maximum execution time was exceeded during paragraph 2 of 3")
    assert [p["status"] for p in executed["paragraphs"]] == ["FINISHED", "ABORT", "READY"]
    assert results(executed, 0) == [("TEXT", "before\n")]
    assert "KeyboardInterrupt" in results(executed, 1)[0][1]


def test_stop_request_aborts_the_running_paragraph(fresh_env: Environment, tmp_path: Path) -> None:
    stop = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.index == 2:
            stop.set()

    note = write_note(tmp_path / "n.zpln", "%sh\necho one", "%sh\nsleep 60", "%md never")
    result, executed = execute(fresh_env, note, stop=stop, on_progress=on_progress, grace=2)
    assert result.outcome is Outcome.STOPPED
    assert result.message == "Stopped during paragraph 2 of 3"
    assert [p["status"] for p in executed["paragraphs"]] == ["FINISHED", "ABORT", "READY"]


def test_stop_before_a_paragraph_starts(fresh_env: Environment, tmp_path: Path) -> None:
    note = write_note(tmp_path / "n.zpln", "print(1)")
    result, executed = execute(fresh_env, note, stop=lambda: True)
    assert result.outcome is Outcome.STOPPED
    assert executed["paragraphs"][0]["status"] == "READY"


def test_kernel_ignoring_interrupts_is_killed_after_the_grace(
    fresh_env: Environment, tmp_path: Path
) -> None:
    kernel_pid = fresh_env.kernel("python").pid
    assert kernel_pid is not None
    note = write_note(
        tmp_path / "n.zpln",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
    )
    result, executed = execute(fresh_env, note, deadline=time.monotonic() + 1, grace=0.5)
    assert result.outcome is Outcome.TIMED_OUT
    assert executed["paragraphs"][0]["status"] == "ABORT"
    assert not alive(kernel_pid)


def test_setsid_child_dies_with_the_environment(tmp_path: Path) -> None:
    env = Environment.start(EnvironmentSpec())
    note = write_note(
        tmp_path / "n.zpln",
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
        "print(p.pid)",
        "%sh\nsetsid sleep 301 > /dev/null 2>&1 &\necho $!",
    )
    _, executed = execute(env, note)
    children = [int(results(executed, i)[0][1]) for i in (0, 1)]
    kernel = env.kernel("python").pid
    assert all(alive(pid) for pid in children)
    env.destroy()
    assert not any(alive(pid) for pid in [*children, kernel])
    assert marked(env.marker) == []
    assert not env.root.exists()


def test_memory_hog_fails_its_paragraph_only(tmp_path: Path) -> None:
    spec = EnvironmentSpec(limits=Limits(memory_bytes=1024**3))
    me = psutil.Process()
    before = me.memory_info().rss
    with Environment.start(spec) as env:
        note = write_note(
            tmp_path / "n.zpln",
            "hog = bytearray(3 * 1024**3)",
            "%sh\npython3 -c 'bytearray(3 * 1024**3)'",
            "print('still here')",
        )
        result, executed = execute(env, note)
    assert [p["status"] for p in executed["paragraphs"]] == ["ERROR", "ERROR", "FINISHED"]
    assert "MemoryError" in results(executed, 0)[-1][1]
    assert "MemoryError" in results(executed, 1)[0][1]
    assert result.outcome is Outcome.FAILED
    assert me.memory_info().rss - before < 100 * 1024**2


def test_kernel_death_fails_the_paragraph_and_a_new_kernel_takes_over(
    fresh_env: Environment, tmp_path: Path
) -> None:
    note = write_note(tmp_path / "n.zpln", "import os\nos._exit(3)", "print('new kernel')")
    result, executed = execute(fresh_env, note)
    assert executed["paragraphs"][0]["status"] == "ERROR"
    assert results(executed, 0) == [("TEXT", KERNEL_DIED.format(name="python"))]
    assert results(executed, 1) == [("TEXT", "new kernel\n")]
    assert result.outcome is Outcome.FAILED


@pytest.fixture(scope="module")
def flood_env() -> Iterator[Environment]:
    env = Environment.start(EnvironmentSpec())
    yield env
    env.destroy()


@pytest.mark.parametrize(
    "code",
    [
        "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 1_000_000)",
        "print('x' * 100_000_000)",
        "%sh\nhead -c 100000000 /dev/zero | tr '\\0' x",
    ],
    ids=["python", "python-one-print", "shell"],
)
def test_output_flood_is_capped_and_memory_stays_flat(
    flood_env: Environment, tmp_path: Path, code: str
) -> None:
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    note = write_note(tmp_path / "n.zpln", code)
    result, executed = execute(flood_env, note)
    peak_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) * 1024
    assert result.outcome is Outcome.SUCCEEDED, result.message
    (text_type, text), (alert_type, alert) = results(executed, 0)
    assert (text_type, alert_type) == ("TEXT", "HTML")
    assert len(text) == 102400
    assert "Output is truncated" in alert
    assert peak_growth < 80 * 1024**2


def test_cpu_limit_kills_the_kernel_and_the_next_paragraph_gets_a_new_one(
    tmp_path: Path,
) -> None:
    spec = EnvironmentSpec(limits=Limits(cpu_seconds=3), preload=("json",))
    with Environment.start(spec) as env:
        note = write_note(tmp_path / "n.zpln", "while True:\n    pass", "print('fresh')")
        result, executed = execute(env, note)
    assert results(executed, 0) == [("TEXT", KERNEL_DIED.format(name="python"))]
    assert results(executed, 1) == [("TEXT", "fresh\n")]
    assert result.outcome is Outcome.FAILED


def test_a_kernel_that_cannot_start_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho no ipykernel here >&2\nexit 3\n")
    python.chmod(0o755)
    spec = EnvironmentSpec(python=str(python), base_dir=tmp_path / "envs", startup_timeout=20)
    with pytest.raises(KernelError, match=r"(?s)did not start.*no ipykernel here"):
        Environment.start(spec)
    assert list((tmp_path / "envs").iterdir()) == []


def test_network_none_cuts_kernel_and_shell_off(tmp_path: Path) -> None:
    spec = EnvironmentSpec(limits=Limits(network=False))
    with Environment.start(spec) as env:
        note = write_note(
            tmp_path / "n.zpln",
            "import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=5)",
            "%sh\nexec 3<>/dev/tcp/192.0.2.1/80",
            "print('kernel still fine')",
        )
        result, executed = execute(env, note)
    statuses = [p["status"] for p in executed["paragraphs"]]
    assert statuses == ["ERROR", "ERROR", "FINISHED"]
    assert "unreachable" in results(executed, 0)[-1][1]
    assert "unreachable" in results(executed, 1)[0][1]  # not merely refused
    assert result.outcome is Outcome.FAILED
