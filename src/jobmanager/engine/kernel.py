"""One Jupyter kernel of an environment: start it, run code, interrupt it."""

from __future__ import annotations

import contextlib
import json
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from jobmanager.engine.confinement import Confinement
from jobmanager.engine.control import Control, Escalation, ExecStatus
from jobmanager.engine.spawner import spawn

POLL_SECONDS = 0.1
IDLE_WAIT_SECONDS = 1.0
REAP_SECONDS = 1.0  # how long `close` waits for a killed kernel process to end
REPLY_TIMEOUT = 5.0
_SPEC_NAME = "jobmanager"


class KernelError(RuntimeError):
    """The kernel could not start, or died."""


def _write_spec(spec_dir: Path, argv: list[str], interrupt_mode: str) -> KernelSpecManager:
    target = spec_dir / _SPEC_NAME
    target.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": argv,
        "display_name": "jobmanager",
        "language": "python",
        "interrupt_mode": interrupt_mode,
    }
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
        confinement: Confinement,
        startup_timeout: float,
    ) -> KernelSession:
        """Start an ipykernel with `python`, confined, in its own session, over ipc sockets."""
        private_dir.mkdir(parents=True, exist_ok=True)
        connection_file = private_dir / "kernel.json"
        # ipc socket paths are limited to ~107 bytes: keep them short, whatever the workdir.
        sockets = Path(tempfile.mkdtemp(prefix="jm-ipc-"))
        argv = confinement.command(
            [
                str(confinement.inside(Path(python))),
                "-m",
                "ipykernel_launcher",
                "-f",
                str(confinement.inside(connection_file)),
                "--HistoryManager.hist_file=:memory:",
                "--IPKernelApp.quiet=True",
                *confinement.kernel_options,
            ],
            cwd,
            writable=[sockets],
            readonly=[connection_file],
        )
        manager = KernelManager(
            kernel_name=_SPEC_NAME,
            kernel_spec_manager=_write_spec(
                private_dir / "kernelspec", argv, confinement.interrupt_mode
            ),
            transport="ipc",
            ip=str(sockets / "k"),
            connection_file=str(connection_file),
        )
        # The kernel echoes what it captures to its own stdout/stderr: keep that out of the
        # service's output; stderr goes to a log that explains a kernel that fails to start.
        log = private_dir / "kernel.log"
        with log.open("wb") as stderr:
            spawn(
                manager.start_kernel,
                cwd=str(cwd),
                env=dict(env),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
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
        kill: Callable[[], None],
        prelude: str = "",
        on_reply: Callable[[dict[str, Any]], None] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> ExecStatus:
        """Run user code, passing each iopub message of it to `on_output`, then the
        content of its execute reply (with its payloads, e.g. help) to `on_reply`.
        `metadata` goes with the request, where the code can read it (ipykernel's
        `kernel.get_parent()["metadata"]`) without a round trip of its own.

        `prelude` is engine code sent silently just before, without waiting for its
        reply: the kernel runs requests in order, and this saves a round trip per paragraph.

        When the run must end the kernel is interrupted; if it is still busy after
        `control.grace` seconds, `kill` is called and the result is UNRESPONSIVE.
        """
        if prelude:
            self.client.execute(
                prelude, silent=True, store_history=False, allow_stdin=False, stop_on_error=False
            )
        msg_id = self._send_execute(code, metadata or {})
        ending = Escalation(control, self.manager.interrupt_kernel, kill)
        reply: dict[str, Any] | None = None
        reply_at = 0.0
        while True:
            if ending.due():
                return ending.status(ExecStatus.UNRESPONSIVE)
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
        if ending.interrupted_at is not None:
            return ending.status(ExecStatus.INTERRUPTED)
        reply = reply or self._reply(msg_id, REPLY_TIMEOUT)
        if on_reply is not None:
            on_reply(reply)
        return ExecStatus.OK if reply["status"] == "ok" else ExecStatus.ERROR

    def _send_execute(self, code: str, metadata: Mapping[str, Any]) -> str:
        """`client.execute` for user code, with `metadata` on the request."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        msg = self.client.session.msg("execute_request", content, metadata=dict(metadata))
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

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
        the environment, which also catches what the kernel started). A kernel process
        that did not end in time (stuck in the kernel) is reaped whenever it does."""
        process = getattr(self.manager.provisioner, "process", None)
        self.client.stop_channels()
        if isinstance(process, subprocess.Popen):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(REAP_SECONDS)
        try:
            if isinstance(process, subprocess.Popen) and process.poll() is not None:
                # Ended already: only its files and sockets are left. (A shutdown would
                # first send a sandboxed kernel an interrupt message, which nobody reads
                # now, and closing its socket would wait 0.1 s for it to be delivered;
                # the job's slot waits for this.)
                self.manager.cleanup_resources()
            else:
                self.manager.shutdown_kernel(now=True)
        except Exception:
            self.manager.cleanup_resources()
        finally:
            shutil.rmtree(self.sockets, ignore_errors=True)
        if isinstance(process, subprocess.Popen) and process.poll() is None:
            threading.Thread(target=process.wait, name="reap a stuck kernel", daemon=True).start()
