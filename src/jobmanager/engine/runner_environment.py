"""What the runners (`zeppelin.py`, `jupyter.py`, `paragraphs.py`) use of the environment
they run in: its kernels, its processes' variables and working folder, its confinement.

`Environment` (`environment.py`) is the one there is: it calls the runners, and they know
it only through this protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from jobmanager.engine.confinement import Confinement
from jobmanager.engine.kernel import KernelSession

# The module the environment installs in each Python kernel, which the runners call.
RUNTIME_MODULE = "_jobmanager_runtime"


class RunnerEnvironment(Protocol):
    cwd: Path
    confinement: Confinement
    spark_conf: dict[str, str]  # set by `%spark.conf` before the kernel starts

    @property
    def process_env(self) -> dict[str, str]: ...

    def kernel(self, name: str) -> KernelSession: ...

    def has_module(self, module: str) -> bool: ...

    def kill_processes(self) -> None: ...

    def discard_kernel(self, name: str) -> None: ...
