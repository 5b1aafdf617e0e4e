"""`%sh` paragraphs: bash in the environment's working directory, under its limits."""

from __future__ import annotations

import codecs
import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from jobmanager.engine.control import Control
from jobmanager.engine.kernel import ExecStatus, Limits
from jobmanager.engine.output import ResultCollector

READ_SIZE = 65536
# After bash exits, a background child may hold the pipe open: stop reading once it is quiet.
_DRAIN_SECONDS = 0.2


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def _stop(proc: subprocess.Popen[bytes], control: Control) -> ExecStatus:
    """Terminate the script's process group; SIGKILL it after the grace period."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=control.grace)
        return ExecStatus.INTERRUPTED
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        return ExecStatus.UNRESPONSIVE


def run_shell(
    script: str,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    collector: ResultCollector,
    control: Control,
) -> tuple[ExecStatus, int | None]:
    """Run `bash -c script`, streaming its output into `collector`.

    Returns the status and bash's exit code (None if it was stopped; 128 + N if a signal
    N killed bash itself, e.g. a CPU limit).
    """
    proc = subprocess.Popen(
        limits.wrap(["bash", "-c", script]),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        quiet_since: float | None = None
        while True:
            if control.reason() is not None:
                proc.stdout.close()
                return _stop(proc, control), None
            if selector.select(timeout=control.wait(0.1)):
                chunk = os.read(fd, READ_SIZE)
                if not chunk:
                    break
                collector.write(decoder.decode(chunk))
                quiet_since = None
            elif proc.poll() is not None:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > _DRAIN_SECONDS:
                    break
    collector.write(decoder.decode(b"", final=True))
    proc.stdout.close()
    code = proc.wait()
    return ExecStatus.OK, code if code >= 0 else 128 - code  # killed by a signal: as a shell says
