"""A job's live events on the terminal: `jobs logs` and the output under `--watch`.

The model's stdout and results go to stdout, its stderr to stderr, as they come;
what the service says about the run (a paragraph starts, a paragraph fails, output
was cut, the job's status) goes to stderr, so that stdout holds the model's output
only. While a live view shows the progress bar, output lines go above it instead,
stderr in red, whole lines at a time.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from jobmanager.cli.output import size
from jobmanager.client import Client, JobEvent, JobmanagerError


def describe_event(event: JobEvent) -> str | None:
    """What the service says about the run, as one line (None for output)."""
    data = event.data
    unit = str(data.get("unit", "paragraph"))
    where = f"{unit} {data.get('index')} of {data.get('total')}"
    if event.kind == "started":
        title = data.get("title")
        return f"── {where}" + (f": {title}" if title else "")
    if event.kind == "finished" and data.get("status") != "FINISHED":
        summary = data.get("summary")
        return f"── {where} {data.get('status')}" + (f": {summary}" if summary else "")
    if event.kind == "truncated":
        scope = "the job" if data.get("scope") == "job" else f"this {data.get('scope')}"
        limit = size(int(data.get("limitBytes", 0)))
        return f"── output beyond {limit} for {scope} is not kept"
    if event.kind == "status":
        message = data.get("message")
        return f"── {data.get('status')}" + (f": {message}" if message else "")
    return None


class StreamPrinter:
    """Output as it comes, to the process's own stdout and stderr."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def show(self, event: JobEvent) -> None:
        if event.kind == "output":
            target = self.stderr if event.stream == "stderr" else self.stdout
            target.write(event.text)
            target.flush()
            return
        line = describe_event(event)
        if line is not None:
            self.stdout.flush()
            self.stderr.write(line + "\n")
            self.stderr.flush()


class LivePrinter:
    """Output as whole lines printed on a rich console that shows a live view: they go
    above the view, which stays at the bottom."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._partial: dict[str, str] = {}

    def show(self, event: JobEvent) -> None:
        if event.kind == "output":
            text = self._partial.pop(event.stream, "") + event.text
            whole, _, rest = text.rpartition("\n")
            if rest:
                self._partial[event.stream] = rest
            if whole or text.endswith("\n"):
                self._print(whole, event.stream)
            return
        self._flush()
        line = describe_event(event)
        if line is not None:
            self.console.print(Text(line, style="dim"), soft_wrap=True)

    def _flush(self) -> None:
        for stream, rest in list(self._partial.items()):
            self._print(rest, stream)
        self._partial.clear()

    def _print(self, text: str, stream: str) -> None:
        style = "red" if stream == "stderr" else ""
        self.console.print(Text(text, style=style), soft_wrap=True, highlight=False)


class Follower:
    """Shows a job's events from a thread while the caller watches the job otherwise
    (and shows its status: the status events are left out; with no printer, nothing is
    shown). `changed` is set when a status event or the end of the stream tells the
    caller to look again now."""

    def __init__(
        self, api: Client, job_id: str, printer: StreamPrinter | LivePrinter | None
    ) -> None:
        self.api = api
        self.job_id = job_id
        self.printer = printer
        self.problem: str | None = None
        self.changed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-events", daemon=True)

    def __enter__(self) -> Follower:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if kind is None:  # else the caller gives up watching: no need to wait
            self.finish()

    def finish(self, timeout: float = 10.0) -> None:
        """Wait for the job's last events (they are stored with its final status)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            for event in self.api.iter_job_events(self.job_id):
                if event.kind == "status":
                    self.changed.set()
                elif self.printer is not None:
                    self.printer.show(event)
        except JobmanagerError as error:
            self.problem = str(error)
        finally:
            self.changed.set()


def print_problem(problem: str | None, errors: Console) -> None:
    if problem:
        errors.print(f"[yellow]live output unavailable:[/yellow] {escape(problem)}")


def end_line(event: JobEvent) -> str:
    message = event.data.get("message")
    return f"job {event.data.get('status')}" + (f": {message}" if message else "")
