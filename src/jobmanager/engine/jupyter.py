"""Run a Jupyter notebook cell by cell with nbclient, on the environment's Python kernel.

Papermill's conventions: parameters injected after the `parameters` cell, per-cell
`metadata.papermill` status and timings, an error banner; with `stop_on_error` (the
default, as papermill) the first failing cell ends the run. Stop and deadline work as for
Zeppelin notes: interrupt, wait the grace period, then kill the environment's processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.asynchronous.client import AsyncKernelClient
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from jobmanager.engine import notebook as nbmeta
from jobmanager.engine.control import Control, Escalation, ExecStatus, Outcome, StopSignal
from jobmanager.engine.kernel_runtime import ENGINE_MIME
from jobmanager.engine.note import write_atomic
from jobmanager.engine.paragraphs import display_text
from jobmanager.engine.result import (
    Failure,
    Output,
    OutputCallback,
    Progress,
    RunResult,
    StepEnd,
    StepEndCallback,
    ended_result,
    finished_result,
    first_line,
    last_text_line,
    replay_failed,
)
from jobmanager.engine.runner_environment import RunnerEnvironment

CELL_OUTPUT_LIMIT = 10 * 1024 * 1024
_TRUNCATED = "\n[Output truncated: more than {limit} bytes in this cell]\n"


class _CappedClient(NotebookClient):
    """An nbclient that drops a cell's output beyond `CELL_OUTPUT_LIMIT` bytes as it
    arrives, so that an output flood does not fill the engine's memory, and the engine's
    own reports (`z` forms and puts). `on_output` sees each output as it comes."""

    def __init__(self, nb: NotebookNode, on_output: OutputCallback | None, **kw: Any) -> None:
        super().__init__(nb, on_cell_error=self._reply_error, **kw)
        self.cell_bytes = 0
        self.truncated = False
        self.reply_error: str | None = None  # of the last cell, from its execute reply
        self.on_output = on_output
        self.number = 0  # of the code cell running

    def _reply_error(self, cell: NotebookNode, cell_index: int, execute_reply: Any) -> None:
        """An error the kernel answered without an error output (a line magic's
        `UsageError`): it fails the cell, as it does under papermill."""
        content = execute_reply["content"]
        self.reply_error = f"{content.get('ename')}: {content.get('evalue')}"

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, index: int
    ) -> NotebookNode | None:
        content = msg["content"]
        if ENGINE_MIME in content.get("data", {}):
            return None  # a form or z.put report, meant for Zeppelin notes only
        self._tap(msg["msg_type"], content)
        size = len(str(content.get("text", ""))) + sum(
            len(str(v)) for v in content.get("data", {}).values()
        )
        self.cell_bytes += size
        if self.cell_bytes > CELL_OUTPUT_LIMIT and msg["msg_type"] != "error":
            if not self.truncated:
                self.truncated = True
                notice = _TRUNCATED.format(limit=CELL_OUTPUT_LIMIT)
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=notice))
            return None
        result: NotebookNode | None = super().output(outs, msg, display_id, index)
        return result

    def _tap(self, kind: str, content: dict[str, Any]) -> None:
        if self.on_output is None:
            return
        if kind == "stream":
            text, stream = str(content.get("text", "")), str(content.get("name", "stdout"))
        elif kind == "error":
            text, stream = "\n".join(content.get("traceback", [])) + "\n", "stderr"
        else:
            text, stream = display_text(content.get("data", {})), "result"
        if text:
            self.on_output(Output(self.number, stream, text))


class NotebookRun:
    """One run of a notebook; `run()` returns the result."""

    def __init__(
        self,
        env: RunnerEnvironment,
        nb: NotebookNode,
        executed_path: Path,
        control: Control,
        on_progress: Callable[[Progress], None] | None,
        stop_on_error: bool,
        mode: int | None = None,
        on_output: OutputCallback | None = None,
        on_step_end: StepEndCallback | None = None,
        replay_before: int = 0,
    ) -> None:
        self.replay_before = replay_before
        self.replayed: list[int] = []
        self.on_output = on_output
        self.on_step_end = on_step_end
        self.env = env
        self.mode = mode  # of the files written: the input's
        self.nb = nb
        self.executed_path = executed_path
        self.control = control
        self.on_progress = on_progress
        self.stop_on_error = stop_on_error
        self.session = env.kernel("python")
        self.reached = 0  # cells before this index were run or passed
        self.ended_at_error = False  # a cell's error ended the run

    def save(self) -> None:
        text = nbformat.writes(self.nb)
        write_atomic(self.executed_path, text, self.mode)

    async def run(self) -> RunResult:
        session = self.session
        session.client.stop_channels()  # nbclient's own client reads the kernel from now on
        manager = session.manager
        kc = AsyncKernelClient(
            **manager.get_connection_info(session=True),
            connection_file=manager.connection_file,
            parent=manager,
        )
        kc.start_channels(stdin=False)  # so input() fails at once instead of waiting
        client = _CappedClient(
            self.nb, self.on_output, km=session.manager, timeout=None, allow_errors=True
        )
        client.kc = kc
        try:
            result = await self._cells(client)
        finally:
            kc.stop_channels()
        return dataclasses.replace(result, replayed=tuple(self.replayed))

    async def _cells(self, client: _CappedClient) -> RunResult:
        code = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
        failures: list[Failure] = []
        self.save()
        for number, index in enumerate(code, start=1):
            cell = self.nb.cells[index]
            label = f"cell {number} of {len(code)}"
            if self.control.reason() is not None:
                return self._end(ended_result(self.control, f"before {label}", self.executed_path))
            if self.on_progress is not None:
                self.on_progress(Progress(number, len(code), first_line(cell.source)))
            if number < self.replay_before:
                replay_end = await self._replay(client, cell, index, number, label)
                if replay_end is not None:
                    return self._end(replay_end)
                continue
            nbmeta.cell_started(cell)
            client.cell_bytes, client.truncated, client.reply_error = 0, False, None
            client.number = number
            ended = await self._execute(client, cell, index)
            exited = nbmeta.exited(cell)
            died = "The kernel died" if ended is ExecStatus.DIED else None
            error = nbmeta.error_summary(cell) or (None if exited else client.reply_error) or died
            interrupted = ended in (ExecStatus.INTERRUPTED, ExecStatus.UNRESPONSIVE)
            # nbclient lets a cell tagged `raises-exception` fail and runs on (papermill
            # then fails the run at its end, naming the first error).
            allowed = nbmeta.allows_errors(cell) and not (died or interrupted)
            failed = bool(error or exited) and not allowed
            nbmeta.cell_finished(cell, failed=failed or interrupted)
            status = _cell_status(error, interrupted)
            self._ended(cell, StepEnd(number, len(code), status, error or ""))
            self.reached = index + 1
            self.save()
            if interrupted or self.control.limit_hit():
                return self._end(ended_result(self.control, f"during {label}", self.executed_path))
            if error is not None:
                failures.append(Failure(number, label, error))
            if not failed:
                continue
            if error is not None and (self.stop_on_error or exited):
                self.ended_at_error = True
                break
            if exited:  # sys.exit(0) ends the run, without failing it (papermill)
                return self._end(exited_result(failures, label, len(code), self.executed_path))
        else:
            self.reached = len(self.nb.cells)
        return self._end(finished_result(failures, len(code), "cells", self.executed_path))

    async def _replay(
        self, client: _CappedClient, cell: NotebookNode, index: int, number: int, label: str
    ) -> RunResult | None:
        """Run a copy of the cell, only for the kernel's state: the cell keeps its earlier
        outputs and metadata. A result when the replay ended the run."""
        replica = copy.deepcopy(cell)
        client.cell_bytes, client.truncated, client.reply_error = 0, False, None
        client.number, tap, client.on_output = number, client.on_output, None
        try:
            ended = await self._execute(client, replica, index)
        finally:
            client.on_output = tap
            self.nb.cells[index] = cell  # nbclient put the replica in its place
        self.replayed.append(number)
        self.reached = index + 1
        if ended in (ExecStatus.INTERRUPTED, ExecStatus.UNRESPONSIVE) or self.control.limit_hit():
            return ended_result(self.control, f"while replaying {label}", self.executed_path)
        died = "The kernel died" if ended is ExecStatus.DIED else None
        error = nbmeta.error_summary(replica) or client.reply_error or died
        if error is not None or nbmeta.exited(replica):
            return replay_failed(label, error or "it ended the run", self.executed_path)
        return None

    async def _execute(self, client: _CappedClient, cell: NotebookNode, index: int) -> ExecStatus:
        """Run one cell under the control (OK stands for "ran", errors included)."""
        task = asyncio.ensure_future(client.async_execute_cell(cell, index))
        interrupt, kill = self.session.manager.interrupt_kernel, self.env.kill_processes
        ending = Escalation(self.control, interrupt, kill)
        while not task.done():
            await asyncio.wait({task}, timeout=self.control.wait(0.1))
            if not task.done() and ending.due():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                return ending.status(ExecStatus.UNRESPONSIVE)
        if isinstance(task.exception(), DeadKernelError):
            return ExecStatus.DIED
        task.result()
        return ending.status(ExecStatus.OK)

    def _ended(self, cell: NotebookNode, end: StepEnd) -> None:
        if self.on_step_end is None:
            return
        if not end.summary and end.status == "FINISHED":
            texts = [str(o.get("text", "")) for o in cell.get("outputs", [])]
            end = StepEnd(end.index, end.total, end.status, last_text_line(texts))
        self.on_step_end(end)

    def _end(self, result: RunResult) -> RunResult:
        """Finish the notebook's metadata and save it; a run that failed in papermill's
        way (the first error ends it, or ends it at the end) gets papermill's banner."""
        failed = result.outcome is Outcome.FAILED and not self.control.limit_hit()
        papermill_error = failed and (self.stop_on_error or self.ended_at_error)
        banner_at = nbmeta.papermill_error_cell(self.nb) if papermill_error else None
        nbmeta.finish_metadata(self.nb, self.reached, banner_at)
        self.save()
        return result


def _cell_status(error: str | None, interrupted: bool) -> str:
    """A cell's end in the words of a paragraph's (`StepEnd.status`)."""
    if interrupted:
        return "ABORT"
    return "ERROR" if error is not None else "FINISHED"


def exited_result(failures: list[Failure], label: str, total: int, path: Path) -> RunResult:
    """The result of a run that a cell ended with `sys.exit(0)`."""
    if failures:
        return finished_result(failures, total, "cells", path)
    return RunResult(Outcome.SUCCEEDED, f"{label[:1].upper()}{label[1:]} ended the run", path)


def run_notebook(
    env: RunnerEnvironment,
    model: Path,
    executed_path: Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    deadline: float | None = None,
    stop: StopSignal | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    grace: float = 5.0,
    breach: Callable[[], str | None] | None = None,
    stop_on_error: bool = True,
    on_output: OutputCallback | None = None,
    on_step_end: StepEndCallback | None = None,
    replay_before: int = 0,
    note_metadata: Mapping[str, Any] | None = None,
) -> RunResult:
    """Run the notebook at `model` in `env`; the executed notebook goes to `executed_path`.

    Code cells before number `replay_before` are replayed (see `NotebookRun._replay`);
    `note_metadata` goes into the notebook's `metadata.jobmanager`."""
    nb = nbmeta.load(model)
    nbmeta.inject_parameters(nb, parameters or {})
    nbmeta.init_metadata(nb, model.name, executed_path.name, nbmeta.first_run(nb, replay_before))
    if note_metadata:
        nb.metadata["jobmanager"] = dict(note_metadata)
    control = Control(stop=stop, deadline=deadline, grace=grace, breach=breach)
    mode = model.stat().st_mode & 0o777
    run = NotebookRun(
        env,
        nb,
        executed_path,
        control,
        on_progress,
        stop_on_error,
        mode,
        on_output=on_output,
        on_step_end=on_step_end,
        replay_before=replay_before,
    )
    return asyncio.run(run.run())
