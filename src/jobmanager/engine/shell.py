"""`%sh` paragraphs: bash in the environment's working directory, confined as its kernels."""

from __future__ import annotations

import codecs
import os
import selectors
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from jobmanager.engine.confinement import Confinement
from jobmanager.engine.control import Control, Escalation, ExecStatus
from jobmanager.engine.output import ResultCollector
from jobmanager.engine.processes import KILL_SECONDS
from jobmanager.engine.spawner import spawn

READ_SIZE = 65536
# After bash exits, a background child may hold the pipe open: stop reading once it is quiet.
_DRAIN_SECONDS = 0.2
_DRAIN_PAUSE_SECONDS = 0.01


def run_shell(
    script: str,
    cwd: Path,
    env: Mapping[str, str],
    confinement: Confinement,
    collector: ResultCollector,
    control: Control,
    tap: Callable[[str], None] | None = None,
) -> tuple[ExecStatus, int | None]:
    """Run `bash -c script`, streaming its output into `collector` (and `tap`, as it comes).

    Returns the status and bash's exit code (None if it was stopped; 128 + N if a signal
    N killed bash itself, e.g. a CPU limit).
    """
    proc = spawn(
        subprocess.Popen,
        confinement.command(["bash", "-c", script], cwd),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    ending = Escalation(
        control, lambda: confinement.terminate(proc), lambda: confinement.kill_tree(proc)
    )
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        quiet_since: float | None = None
        while not ending.due():
            if ending.interrupted_at is None and selector.select(timeout=control.wait(0.1)):
                chunk = os.read(fd, READ_SIZE)
                if not chunk:
                    break
                if collector.truncated:
                    # Past the cap the rest is only drained, slowly: a flood then waits on
                    # its full pipe instead of keeping the service busy.
                    time.sleep(_DRAIN_PAUSE_SECONDS)
                else:
                    _write(collector, tap, decoder.decode(chunk))
                quiet_since = None
            elif proc.poll() is not None:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > _DRAIN_SECONDS:
                    break
            elif ending.interrupted_at is not None:
                time.sleep(0.05)
    _write(collector, tap, decoder.decode(b"", final=True))
    proc.stdout.close()
    code = _exit_code(proc, ending)
    if ending.interrupted_at is not None or code is None:
        return ending.status(ExecStatus.INTERRUPTED), None
    return ExecStatus.OK, code if code >= 0 else 128 - code  # killed by a signal: as a shell says


def _write(collector: ResultCollector, tap: Callable[[str], None] | None, text: str) -> None:
    collector.write(text)
    if tap is not None and text:
        tap(text)


def _exit_code(proc: subprocess.Popen[bytes], ending: Escalation) -> int | None:
    """bash's exit code once it exits. It may run on after closing its output, so the
    wait is ended as the execution is (stop, deadline, limit); None if even the kill did
    not end it in time (a process stuck in the kernel)."""
    while proc.poll() is None and not ending.due():
        time.sleep(_DRAIN_PAUSE_SECONDS * 5)
    try:
        return proc.wait(KILL_SECONDS)
    except subprocess.TimeoutExpired:
        return None
