"""Sandboxed environments at the engine level: what the sandbox sees, how runs in it are
stopped, and that it lives exactly as long as it should."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.engine import Environment, EnvironmentSpec, Limits, Outcome, Progress
from jobmanager.engine.cgroups import CgroupsUnavailable, Hierarchy
from jobmanager.engine.sandbox import Sandbox, find_bwrap
from jobmanager.engine.seccomp import write_filter
from tests import syscalls
from tests.integration.engine.conftest import execute, results, write_note

pytestmark = pytest.mark.timeout(120)
MIB = 1024 * 1024


def sandboxed(base: Path, **limits: object) -> EnvironmentSpec:
    """A sandboxed environment's spec, with the service's seccomp filter and, unless
    `limits` says otherwise, no network."""
    try:
        cgroups: Hierarchy | None = Hierarchy.detect()
    except CgroupsUnavailable:
        cgroups = None
    seccomp = write_filter(base / "seccomp.bpf")
    return EnvironmentSpec(
        limits=Limits(**{"network": False, **limits}),  # type: ignore[arg-type]
        base_dir=base / "environments",
        sandbox=Sandbox(find_bwrap(), hidden=(str(base),), seccomp=seccomp),
        cgroups=cgroups,
    )


@pytest.fixture
def boxed(tmp_path: Path) -> Iterator[Environment]:
    env = Environment.start(sandboxed(tmp_path, disk_bytes=64 * MIB))
    yield env
    env.destroy()


def test_the_sandbox_sees_its_work_folder_at_job_and_nothing_of_the_host_folders(
    boxed: Environment, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("host")
    (boxed.input_dir / "data.txt").write_text("input")
    note = write_note(
        tmp_path / "n.zpln",
        "import os\nprint(os.getcwd(), inputFolder, outputFolder, os.environ['HOME'])",
        f"import os\nprint(os.path.exists({str(tmp_path)!r}), open('data.txt').read())",
        "%sh\necho $inputFolder; id -u; hostname; ls /job",
    )
    result, executed = execute(boxed, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert results(executed, 0) == [("TEXT", "/job/input /job/input /job/output /tmp\n")]
    assert results(executed, 1) == [("TEXT", "False input\n")]
    assert results(executed, 2) == [("TEXT", "/job/input\n1000\njobmanager\ninput\noutput\n")]


def test_a_stop_interrupts_the_sandboxed_kernel(boxed: Environment, tmp_path: Path) -> None:
    stop = threading.Event()

    def on_progress(progress: Progress) -> None:
        if progress.index == 2:
            threading.Timer(0.5, stop.set).start()

    note = write_note(tmp_path / "n.zpln", "print(1)", "import time\ntime.sleep(60)")
    started = time.monotonic()
    result, executed = execute(boxed, note, stop=stop, on_progress=on_progress, grace=10)
    assert time.monotonic() - started < 8  # the interrupt worked: no wait for the grace
    assert result.outcome is Outcome.STOPPED
    assert "KeyboardInterrupt" in results(executed, 1)[0][1]


def test_a_stopped_sh_script_gets_sigterm_and_its_grace(boxed: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "%sh\ntrap 'echo cleaning up; exit 3' TERM\necho waiting\nsleep 60 & wait",
    )
    result, executed = execute(boxed, note, deadline=time.monotonic() + 2, grace=5)
    assert result.outcome is Outcome.TIMED_OUT
    assert executed["paragraphs"][0]["status"] == "ABORT"


def test_a_kernel_killed_in_the_sandbox_is_started_again(
    boxed: Environment, tmp_path: Path
) -> None:
    note = write_note(tmp_path / "n.zpln", "import os\nos._exit(1)", "print('again')")
    result, executed = execute(boxed, note)
    assert result.outcome is Outcome.FAILED
    assert results(executed, 1) == [("TEXT", "again\n")]


def test_the_disk_limit_ends_the_run_naming_it(boxed: Environment, tmp_path: Path) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "with open(outputFolder + '/fill', 'wb') as f:\n"
        "    for _ in range(200):\n        f.write(b'x' * (1 << 20))",
        "print('never')",
    )
    result = boxed.run(note)  # the watchdog is the environment's
    assert result.outcome is Outcome.LIMIT_EXCEEDED
    assert result.message.startswith("Disk limit of 64 MiB reached")


def test_an_environment_started_in_a_thread_that_ended_still_runs(tmp_path: Path) -> None:
    """A sandbox dies with the thread that forked it (PR_SET_PDEATHSIG): the warm pool's
    threads end, so environments are forked by the engine's long-lived spawner."""
    started: list[Environment] = []
    thread = threading.Thread(target=lambda: started.append(Environment.start(sandboxed(tmp_path))))
    thread.start()
    thread.join()
    (env,) = started
    try:
        time.sleep(0.5)
        note = write_note(tmp_path / "n.zpln", "print('alive')", "%sh\necho shell")
        result, executed = execute(env, note)
        assert result.outcome is Outcome.SUCCEEDED, result.message
        assert results(executed, 0) == [("TEXT", "alive\n")]
    finally:
        env.destroy()


def test_the_seccomp_filter_denies_every_call_it_names_and_lets_the_rest_run(
    boxed: Environment, tmp_path: Path
) -> None:
    note = write_note(tmp_path / "n.zpln", syscalls.code(), "%sh\nunshare -U -r true; echo $?")
    result, executed = execute(boxed, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    syscalls.check(results(executed, 0)[0][1])
    assert results(executed, 1)[-1][1].endswith("1\n")


def test_the_sandbox_sees_its_python_at_neutral_paths_and_no_host_pid(
    boxed: Environment, tmp_path: Path
) -> None:
    note = write_note(
        tmp_path / "n.zpln",
        "import os, sys, pandas\nprint(sys.executable, sys.prefix, sys.base_prefix)\n"
        "print([p for p in sys.path if p and not p.startswith('/opt/jobmanager-')])\n"
        "print(pandas.__file__.startswith('/opt/jobmanager-env/site/'))\n"
        "print(sorted(k for k in os.environ if k.startswith('JPY')))",
        "%sh\ncat /etc/hosts /etc/resolv.conf",
    )
    result, executed = execute(boxed, note)
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert results(executed, 0) == [
        (
            "TEXT",
            "/opt/jobmanager-env/bin/python /opt/jobmanager-env /opt/jobmanager-python\n"
            "[]\nTrue\n[]\n",
        )
    ]
    seen = results(executed, 1)[0][1]
    assert "nameserver 10.0.2.3" in seen and "127.0.1.1 jobmanager" in seen
