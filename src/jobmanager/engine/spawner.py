"""Start environment processes from one thread that lives as long as the service.

A sandbox dies with its parent (`bwrap --die-with-parent`, i.e. `PR_SET_PDEATHSIG`),
and Linux takes the *thread* that forked a process as its parent: a process started
from a short-lived thread (a warm-pool starter, a job slot) would be killed when that
thread ends. Every environment process is therefore forked here, in a thread that
ends only with the service — and then the sandboxes end with it, even on SIGKILL.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

# One worker thread, never replaced: an idle executor thread waits for work, it does not end.
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="environment-spawner")


def spawn(start: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Call `start` (which forks) in the spawner thread and return what it returns."""
    return _EXECUTOR.submit(start, *args, **kwargs).result()
