"""One Jupyter kernel of an environment: start it, run code, interrupt it."""

from __future__ import annotations

import enum
import functools
import json
import queue
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from jobmanager.engine.control import Control

POLL_SECONDS = 0.1
IDLE_WAIT_SECONDS = 1.0
REPLY_TIMEOUT = 5.0
_SPEC_NAME = "jobmanager"


class KernelError(RuntimeError):
    """The kernel could not start, or died."""


class ExecStatus(enum.Enum):
    OK = "ok"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # ended by a stop request or the deadline
    UNRESPONSIVE = "unresponsive"  # interrupted, but did not stop within the grace period
    DIED = "died"


@dataclass(frozen=True)
class Limits:
    """Resource limits of a kernel and everything it starts (`None`: no limit).

    `max_processes` is RLIMIT_NPROC, which counts every process of the user, so it is
    only meaningful when environments run as a dedicated user.
    """

    memory_bytes: int | None = None
    cpu_seconds: int | None = None
    max_processes: int | None = None
    network: bool = True  # False: a network namespace of its own, with no interface up

    def ulimit(self) -> str:
        """A bash statement applying these limits ("" if there are none)."""
        parts = []
        if self.memory_bytes is not None:
            parts.append(f"-v {max(1, self.memory_bytes // 1024)}")
        if self.cpu_seconds is not None:
            parts.append(f"-t {self.cpu_seconds}")
        if self.max_processes is not None:
            parts.append(f"-u {self.max_processes}")
        return "ulimit " + " ".join(parts) + " || exit 97" if parts else ""

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """`argv` run under these limits (bash applies them, then execs: same pid)."""
        statement = self.ulimit()
        wrapped = list(argv)
        if statement:
            wrapped = ["bash", "-c", statement + '; exec "$@"', "jobmanager-limits", *argv]
        if not self.network:
            wrapped = [*_no_network(), *wrapped]
        return wrapped


@functools.cache
def _no_network() -> list[str]:
    """The prefix that runs a command without network: `unshare --net` (util-linux)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise KernelError("network 'none' needs the unshare command (util-linux)")
    probe = subprocess.run([unshare, "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise KernelError(
            "network 'none' needs the right to make network namespaces "
            f"(unshare --net: {probe.stderr.strip() or probe.returncode})"
        )
    return [unshare, "--net", "--"]


def _write_spec(spec_dir: Path, argv: list[str]) -> KernelSpecManager:
    target = spec_dir / _SPEC_NAME
    target.mkdir(parents=True, exist_ok=True)
    spec = {"argv": argv, "display_name": "jobmanager", "language": "python"}
    (target / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(spec_dir)])


class KernelSession:
    """A started kernel with its blocking client."""

    def __init__(self, manager: KernelManager, client: BlockingKernelClient, sockets: Path) -> None:
        self.manager = manager
        self.client = client
        self.sockets = sockets
        # The last setup prelude whose effect the kernel still has (callers skip an equal one).
        self.setup_in_effect = ""

    @classmethod
    def start(
        cls,
        python: str,
        private_dir: Path,
        cwd: Path,
        env: Mapping[str, str],
        limits: Limits,
        startup_timeout: float,
    ) -> KernelSession:
        """Start an ipykernel with `python` in its own session, over ipc sockets."""
        private_dir.mkdir(parents=True, exist_ok=True)
        argv = limits.wrap(
            [
                python,
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
                "--HistoryManager.hist_file=:memory:",
                "--IPKernelApp.quiet=True",
            ]
        )
        # ipc socket paths are limited to ~107 bytes: keep them short, whatever the workdir.
        sockets = Path(tempfile.mkdtemp(prefix="jm-ipc-"))
        manager = KernelManager(
            kernel_name=_SPEC_NAME,
            kernel_spec_manager=_write_spec(private_dir / "kernelspec", argv),
            transport="ipc",
            ip=str(sockets / "k"),
            connection_file=str(private_dir / "kernel.json"),
        )
        # The kernel echoes what it captures to its own stdout/stderr: keep that out of the
        # service's output; stderr goes to a log that explains a kernel that fails to start.
        log = private_dir / "kernel.log"
        with log.open("wb") as stderr:
            manager.start_kernel(
                cwd=str(cwd), env=dict(env), stdout=subprocess.DEVNULL, stderr=stderr
            )
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=startup_timeout)
        except RuntimeError as exc:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            shutil.rmtree(sockets, ignore_errors=True)
            tail = log.read_text(errors="replace")[-2000:].strip()
            message = f"The kernel did not start ({shlex.join(argv)}): {exc}"
            raise KernelError(f"{message}\n{tail}" if tail else message) from exc
        return cls(manager, client, sockets)

    @property
    def pid(self) -> int | None:
        provisioner = self.manager.provisioner
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def is_alive(self) -> bool:
        return bool(self.manager.is_alive())

    def run_silent(self, code: str, timeout: float = 30.0) -> dict[str, Any]:
        """Run engine code (no output, no history); raise if it fails."""
        msg_id = self.client.execute(
            code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False
        )
        reply = self._reply(msg_id, timeout)
        if reply["status"] != "ok":
            trace = "\n".join(reply.get("traceback", []))
            raise KernelError(f"Engine code failed in the kernel: {reply.get('ename')}\n{trace}")
        return reply

    def evaluate(self, expression: str, timeout: float = 30.0) -> str:
        """The `repr` of a Python expression evaluated in the kernel."""
        msg_id = self.client.execute(
            "",
            silent=True,
            store_history=False,
            allow_stdin=False,
            user_expressions={"x": expression},
        )
        result = self._reply(msg_id, timeout)["user_expressions"]["x"]
        if result.get("status") != "ok":
            raise KernelError(f"Could not evaluate {expression!r}: {result.get('evalue')}")
        return str(result["data"]["text/plain"])

    def execute(
        self,
        code: str,
        on_output: Callable[[dict[str, Any]], None],
        control: Control,
        prelude: str = "",
    ) -> ExecStatus:
        """Run user code, passing each iopub message of it to `on_output`.

        `prelude` is engine code sent silently just before, without waiting for its
        reply: the kernel runs requests in order, and this saves a round trip per paragraph.

        A stop request or the deadline interrupts the kernel; if it is still busy after
        `control.grace` seconds the result is UNRESPONSIVE and the caller kills it.
        """
        if prelude:
            self.client.execute(
                prelude, silent=True, store_history=False, allow_stdin=False, stop_on_error=False
            )
        msg_id = self.client.execute(
            code, store_history=True, allow_stdin=False, stop_on_error=False
        )
        interrupted_at: float | None = None
        reply: dict[str, Any] | None = None
        reply_at = 0.0
        while True:
            if interrupted_at is None and control.reason() is not None:
                self.manager.interrupt_kernel()
                interrupted_at = time.monotonic()
            if interrupted_at is not None and time.monotonic() - interrupted_at > control.grace:
                return ExecStatus.UNRESPONSIVE
            try:
                msg = self.client.get_iopub_msg(timeout=control.wait(POLL_SECONDS))
            except queue.Empty:
                if not self.is_alive():
                    return ExecStatus.DIED
                if reply is None:
                    reply, reply_at = self._shell_reply(msg_id, 0.0), time.monotonic()
                elif time.monotonic() - reply_at > IDLE_WAIT_SECONDS:
                    break  # the idle status was dropped (iopub high-water mark in a flood)
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            on_output(msg)
        if interrupted_at is not None:
            return ExecStatus.INTERRUPTED
        reply = reply or self._reply(msg_id, REPLY_TIMEOUT)
        return ExecStatus.OK if reply["status"] == "ok" else ExecStatus.ERROR

    def _reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        reply = self._shell_reply(msg_id, timeout)
        if reply is None:
            raise KernelError("The kernel did not answer in time")
        return reply

    def _shell_reply(self, msg_id: str, timeout: float) -> dict[str, Any] | None:
        """Wait up to `timeout` for the reply to `msg_id`, dropping stale replies."""
        end = time.monotonic() + timeout
        while True:
            try:
                msg = self.client.get_shell_msg(timeout=max(0.0, min(end - time.monotonic(), 1.0)))
            except queue.Empty:
                if time.monotonic() >= end:
                    return None
                if not self.is_alive():
                    raise KernelError("The kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                content: dict[str, Any] = msg["content"]
                return content

    def close(self) -> None:
        """Stop the client and release the kernel's files (its processes are killed by
        the environment, which also catches what the kernel started)."""
        self.client.stop_channels()
        try:
            self.manager.shutdown_kernel(now=True)
        except Exception:
            self.manager.cleanup_resources()
        finally:
            shutil.rmtree(self.sockets, ignore_errors=True)
