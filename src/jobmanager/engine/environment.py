"""An Environment: a fresh working directory and the kernel(s) that run one job.

It can be started ahead of time (a warm pool), is used for exactly one run, then
destroyed: every process it started dies, including those that called `setsid`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobmanager.engine import kernel_runtime, spark
from jobmanager.engine.cgroups import CgroupLimits, Hierarchy
from jobmanager.engine.confinement import (
    Confinement,
    ConfinementError,
    Limits,
    ProcessConfinement,
    SandboxConfinement,
)
from jobmanager.engine.control import StopSignal
from jobmanager.engine.jupyter import run_notebook
from jobmanager.engine.kernel import KernelError, KernelSession
from jobmanager.engine.layout import PREFIX, Layout
from jobmanager.engine.network import Egress, JobNetwork
from jobmanager.engine.note import NoteFormatError, model_kind
from jobmanager.engine.processes import MARKER_VARIABLE, environment_processes
from jobmanager.engine.result import (
    OutputCallback,
    Progress,
    RunResult,
    StepEndCallback,
    with_breach,
)
from jobmanager.engine.runner_environment import RUNTIME_MODULE
from jobmanager.engine.sandbox import Sandbox, write_etc
from jobmanager.engine.teardown import Teardown
from jobmanager.engine.usage import ProcessMeter, Usage, cgroup_usage
from jobmanager.engine.watchdog import Watchdog
from jobmanager.engine.zeppelin import run_note

log = logging.getLogger("jobmanager.engine")

# What a model inherits from the service's own environment.
_INHERITED = re.compile(
    r"(PATH|HOME|USER|LOGNAME|SHELL|TERM|TZ|TMPDIR|LANG|LANGUAGE|LC_\w+|JAVA_HOME|SPARK_HOME"
    r"|PYSPARK_\w+|HADOOP_\w+|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE"
    r"|HTTPS?_PROXY|NO_PROXY|https?_proxy|no_proxy)"
)
# Runtimes a sandbox sees when the service has them (e.g. Java for Spark).
_RUNTIME_HOMES = ("JAVA_HOME", "SPARK_HOME")
_SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
MAX_RESULT_ROWS = 1000
STREAM_LIMIT = 16 * 1024 * 1024  # per execution, above what any runner keeps


@dataclass(frozen=True)
class EnvironmentSpec:
    """How to build an environment.

    `python` is the interpreter of the kernel (it needs ipykernel); `base_dir` is where
    the environment's directory is created (a temporary directory by default);
    `preload` names modules imported when the kernel starts, so a warm environment
    does not pay for them during the run. With a `sandbox`, every process of the
    environment runs in it, inside a cgroup of `cgroups` when given; without, processes
    run as the service's user with per-process limits. `seed` is a folder copied into
    the sandbox's `/tmp`, its home (e.g. a font cache that would take a second to build).
    A sandbox with network (`limits.network`) needs `egress`: its network namespace's
    stack and rules (see `network`).
    """

    python: str = sys.executable
    limits: Limits = field(default_factory=Limits)
    env_vars: Mapping[str, str] = field(default_factory=dict)
    base_dir: Path | None = None
    startup_timeout: float = 60.0
    preload: tuple[str, ...] = ()
    sandbox: Sandbox | None = None
    cgroups: Hierarchy | None = None
    seed: Path | None = None
    egress: Egress | None = None


class Environment:
    """Use `Environment.start(spec)`, stage files into `input_dir`, call `run(...)` once,
    collect `output_dir`, then `destroy()` (or use it as a context manager)."""

    def __init__(self, spec: EnvironmentSpec, root: Path) -> None:
        self.spec = spec
        self.layout = Layout(root)
        self.root = root
        self.workdir = self.layout.workdir
        self.input_dir = self.layout.input_dir
        self.output_dir = self.layout.output_dir
        # SPEC §6: a model's working directory holds the input folder's files.
        self.cwd = self.input_dir
        self.marker = uuid.uuid4().hex
        self.confinement: Confinement = ProcessConfinement(spec.limits)
        self._kernels: dict[str, KernelSession] = {}
        self._killed: list[KernelSession] = []
        self._lock = threading.Lock()
        self._used = False
        self._destroyed = False
        self.spark_conf: dict[str, str] = {}  # set by `%spark.conf` before the kernel starts
        self.meter = ProcessMeter()  # what the processes used, when no cgroup counts it

    @classmethod
    def start(cls, spec: EnvironmentSpec | None = None) -> Environment:
        """Create the directories and start the Python kernel (blocking until ready)."""
        spec = spec or EnvironmentSpec()
        if spec.base_dir is not None:
            spec.base_dir.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=spec.base_dir))
        env = cls(spec, root)
        try:
            env.layout.create()
            if spec.sandbox is not None:
                env.confinement = env._sandbox(spec.sandbox)
            env.kernel("python")
        except BaseException:
            env.destroy()
            raise
        return env

    def _sandbox(self, sandbox: Sandbox) -> SandboxConfinement:
        write_etc(self.layout.etc_dir, self.spec.python)
        if self.spec.seed is not None and self.spec.seed.is_dir():
            shutil.copytree(self.spec.seed, self.layout.tmp_dir, dirs_exist_ok=True)
        limits = self.spec.limits
        network = self._network() if limits.network else None
        cgroup = None
        try:
            if self.spec.cgroups is not None:
                wanted = CgroupLimits(limits.memory_bytes, limits.max_processes, limits.cpus)
                cgroup = self.spec.cgroups.create(f"jm-{self.marker}", wanted)
        except BaseException:
            if network is not None:
                network.close()
            raise
        homes = (os.environ.get(name) for name in _RUNTIME_HOMES)
        runtimes = [Path(home) for home in homes if home and Path(home).is_dir()]
        return SandboxConfinement(
            sandbox,
            self.spec.python,
            self.layout,
            limits,
            cgroup,
            readonly=runtimes,
            network=network,
        )

    def _network(self) -> JobNetwork:
        """The environment's network namespace, its egress rules in force."""
        egress = self.spec.egress
        if egress is None:
            raise ConfinementError("a sandbox with network needs its egress rules")
        return egress.stack.start(egress, self.root / ".network.log")

    @property
    def process_env(self) -> dict[str, str]:
        """Environment variables of every process of the environment: a few of the
        service's (never its settings or credentials), then the spec's, then the job's.
        In a sandbox, its home and temporary folder are its own `/tmp`."""
        env = {k: v for k, v in os.environ.items() if _INHERITED.fullmatch(k)}
        python_bin = str(self.confinement.inside(Path(self.spec.python)).parent)
        if self.spec.sandbox is not None:
            env.update(HOME="/tmp", TMPDIR="/tmp", PATH=_SANDBOX_PATH)
        env["PATH"] = os.pathsep.join([python_bin, env.get("PATH", os.defpath)])
        env.update(self.spec.env_vars)
        env.update(
            {
                "inputFolder": str(self.confinement.inside(self.input_dir)),
                "outputFolder": str(self.confinement.inside(self.output_dir)),
                MARKER_VARIABLE: self.marker,
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.spec.limits.memory_bytes is not None:
            env.setdefault("MALLOC_ARENA_MAX", "2")  # glibc arenas eat address space
        return env

    def kernel(self, name: str) -> KernelSession:
        """The kernel `name` ("python" or "spark"), started and set up on first use."""
        with self._lock:
            if self._destroyed:
                raise KernelError("The environment is destroyed")
            if name not in self._kernels:
                self._kernels[name] = self._start_kernel(name)
            return self._kernels[name]

    def has_module(self, module: str) -> bool:
        """Whether the environment's Python can import `module` (asked of its kernel)."""
        spec = f"__import__('importlib.util').util.find_spec({module!r}) is not None"
        return self.kernel("python").evaluate(spec) == "True"

    def _start_kernel(self, name: str) -> KernelSession:
        session = KernelSession.start(
            self.spec.python,
            self.layout.kernel_dir(name),
            self.cwd,
            self.process_env,
            self.confinement,
            self.spec.startup_timeout,
        )
        try:
            session.run_silent(self._bootstrap_code(), timeout=self.spec.startup_timeout)
            if name == "spark":
                code = spark.preamble(self.spark_conf)
                session.run_silent(code, timeout=max(120.0, self.spec.startup_timeout))
        except BaseException:
            self._kill([session], everything=False)
            raise
        return session

    def _bootstrap_code(self) -> str:
        config = {
            "store": {
                "inputFolder": str(self.confinement.inside(self.input_dir)),
                "outputFolder": str(self.confinement.inside(self.output_dir)),
            },
            "max_result": MAX_RESULT_ROWS,
            "stream_limit": STREAM_LIMIT,
        }
        source = Path(kernel_runtime.__file__).read_text(encoding="utf-8")
        imports = "".join(f"__import__({m!r})\n" for m in self.spec.preload)
        return (
            "def _jobmanager_bootstrap():\n"
            "    import json, sys, types\n"
            f"    module = types.ModuleType({RUNTIME_MODULE!r})\n"
            f"    exec(compile({source!r}, {RUNTIME_MODULE!r}, 'exec'), module.__dict__)\n"
            f"    sys.modules[{RUNTIME_MODULE!r}] = module\n"
            "    ip = get_ipython()\n"
            f"    module.RUNTIME = module.install(ip.user_ns, json.loads({json.dumps(config)!r}))\n"
            "    import IPython\n"  # tracebacks without ANSI colours:
            "    plain = 'nocolor' if IPython.version_info[0] >= 9 else 'NoColor'\n"
            "    ip.run_line_magic('colors', plain)\n"
            "_jobmanager_bootstrap()\n"
            "del _jobmanager_bootstrap\n" + imports
        )

    def run(
        self,
        model: Path,
        executed_path: Path | None = None,
        *,
        parameters: Mapping[str, Any] | None = None,
        deadline: float | None = None,
        stop: StopSignal | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        grace: float = 5.0,
        stop_on_error: bool | None = None,
        on_output: OutputCallback | None = None,
        on_step_end: StepEndCallback | None = None,
        replay_before: int = 0,
        note_metadata: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Run a model once in this environment: a Zeppelin note (`.zpln`, `note.json`)
        or a Jupyter notebook, told apart by content.

        `executed_path` is where the executed model is saved after every paragraph or
        cell (default: `output_dir / model.name`); `deadline` is a `time.monotonic()`
        instant; `stop_on_error` ends the run at the first failed paragraph or cell; by
        default a notebook stops (papermill) and a note goes on (SPEC §1). `on_output`
        sees output as the kernel sends it (from the thread that runs the model, so it
        must be quick), `on_step_end` each paragraph or cell as it ends.

        A repair runs the executed model of a failed run with `replay_before`: the
        paragraphs (or code cells) numbered below it run again with their output
        dropped and their earlier results kept, only to restore the kernel's state;
        `RunResult.replayed` lists them. `note_metadata` is written into the executed
        model's metadata (a note's `info.jobmanager`, a notebook's `metadata.jobmanager`).
        """
        if self._used:
            raise RuntimeError("An environment runs one model only")
        self._used = True
        kind = model_kind(model.read_bytes())
        executed = executed_path or self.output_dir / model.name
        if kind not in ("zeppelin", "jupyter"):
            raise NoteFormatError(f"{model.name} is neither a Zeppelin note nor a Jupyter notebook")
        folders = (self.workdir, self.layout.tmp_dir)
        with Watchdog(folders, self.spec.limits.disk_bytes, self.confinement.breach) as dog:
            common: dict[str, Any] = {
                "parameters": parameters,
                "deadline": deadline,
                "stop": stop,
                "on_progress": on_progress,
                "on_output": on_output,
                "on_step_end": on_step_end,
                "grace": grace,
                "breach": dog.check,
                "replay_before": replay_before,
                "note_metadata": note_metadata,
            }
            if stop_on_error is not None:
                common["stop_on_error"] = stop_on_error
            if kind == "zeppelin":
                result = run_note(self, model, executed, **common)
            else:
                result = run_notebook(self, model, executed, **common)
        return with_breach(result, dog.breach)

    def usage(self) -> Usage:
        """Peak memory and CPU seconds so far (see `engine/usage.py`): from the cgroup
        when there is one, else from a sample of the processes now and the ones before."""
        cgroup = getattr(self.confinement, "cgroup", None)
        if cgroup is not None:
            return cgroup_usage(cgroup)
        with self._lock:
            roots = [pid for pid in (s.pid for s in self._kernels.values()) if pid is not None]
        self.meter.sample(environment_processes(roots, None))
        return self.meter.usage()

    def kill_processes(self) -> None:
        """Kill every process of the environment (kernels, shells, what they started);
        a later `kernel(name)` starts a fresh kernel."""
        with self._lock:
            sessions = list(self._kernels.values())
            self._kernels.clear()
        self._kill(sessions, everything=True)

    def discard_kernel(self, name: str) -> None:
        """Kill kernel `name` and its process tree (e.g. after it died); the next
        `kernel(name)` starts a fresh one."""
        with self._lock:
            session = self._kernels.pop(name, None)
        if session is not None:
            self._kill([session], everything=False)

    def _kill(self, sessions: list[KernelSession], everything: bool) -> None:
        """Kill the sessions' process trees, and with `everything` every process of the
        environment (survivors are logged). Their clients are closed by `destroy`: that
        takes a while, and nothing waits for it."""
        self._teardown(sessions, everything).kill()
        with self._lock:
            self._killed.extend(sessions)

    def _teardown(
        self, sessions: list[KernelSession], everything: bool, killed: Sequence[KernelSession] = ()
    ) -> Teardown:
        """The environment's teardown: the sessions' process trees and, with `everything`,
        its other processes (marked ones, and those in its confinement); then the clients
        of the sessions and of those `killed` before, and the confinement, released."""
        roots = [pid for pid in (s.pid for s in sessions) if pid is not None]
        marker = self.marker if everything else None
        clients = [*killed, *sessions]
        release = [("closing a kernel client", session.close) for session in clients]
        return Teardown(
            self.root,
            lambda: self.confinement.kill_all(roots, marker),
            [*release, ("releasing the confinement", self.confinement.close)],
        )

    def destroy(self, remove_files: bool = True) -> bool:
        """Kill everything, release what the kernels' clients hold and (by default) delete
        the environment's directory. Every step is bounded (`teardown`): True if all of
        them ended in time and nothing was left behind, else False and what was is logged."""
        with self._lock:
            self._destroyed = True
            sessions = list(self._kernels.values())
            self._kernels.clear()
            killed, self._killed = self._killed, []
        return self._teardown(sessions, True, killed).finish(remove_files)

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
