"""`jobmanager run-note`: run a Zeppelin note (or a Jupyter notebook) locally, as a job
would run it."""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as ProgressBar

from jobmanager.domain.parameter_types import from_text

if TYPE_CHECKING:  # the engine (Jupyter's client, zmq) loads when the command runs
    from jobmanager.engine import Environment, Progress, RunResult

app = typer.Typer()
console = Console(stderr=True)
EXIT_CODES = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 2, "TIMED_OUT": 2}  # by outcome name


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`["k=v", ...]` as a dict, values typed as papermill's `-p` types them; a pair
    without `=` is an error."""
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--param")
        params[key] = from_text(value)
    return params


def _run(
    env: Environment,
    note: Path,
    executed: Path,
    params: dict[str, Any],
    timeout: float | None,
    stop_on_error: bool | None,
) -> RunResult:
    """Run in a worker thread so that Ctrl-C becomes a clean stop of the note."""
    stop = threading.Event()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with ProgressBar(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(note.name, total=None)

        def on_progress(progress: Progress) -> None:
            description = escape(progress.title or note.name)  # code is not markup
            bar.update(
                task, total=progress.total, completed=progress.index - 1, description=description
            )

        deadline = time.monotonic() + timeout if timeout else None
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(
                env.run,
                note,
                executed,
                parameters=params,
                deadline=deadline,
                stop=stop,
                on_progress=on_progress,
                stop_on_error=stop_on_error,
            )
            try:
                result = future.result()
            except KeyboardInterrupt:
                stop.set()
                result = future.result()
        bar.update(task, completed=bar.tasks[0].total)
    return result


@app.command()
def run_note(
    note: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A .zpln, note.json or .ipynb")
    ],
    input: Annotated[
        Path | None, typer.Option(exists=True, file_okay=False, help="Folder staged as input")
    ] = None,
    output: Annotated[
        Path | None, typer.Option(file_okay=False, help="Where outputs and the executed note go")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-P",
            help="A form value or parameter, key=value (repeatable); True, False, None and "
            "numbers are typed as papermill's -p types them",
        ),
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Maximum execution time, seconds")] = None,
    stop_on_error: Annotated[
        bool | None,
        typer.Option(
            "--stop-on-error/--go-on-after-error",
            help="End at the first failed paragraph or cell [default: a notebook stops, "
            "as papermill; a note goes on, as a job does]",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run a Zeppelin note (or a Jupyter notebook) locally, as a job would; exit 0
    succeeded, 1 failed, 2 stopped or timed out."""
    from jobmanager.engine import Environment, NoteFormatError, model_kind
    from jobmanager.engine.note import note_file_name

    params = parse_params(param or [])
    output = output or Path.cwd() / f"{note.stem}-output"
    payload = note.read_bytes()
    kind = model_kind(payload)
    if kind == "other":
        console.print(f"[red]{note} is neither a Zeppelin note nor a Jupyter notebook")
        raise typer.Exit(1)
    # The executed copy is named as a job names it (a note as Zeppelin keeps it).
    name = note_file_name(payload, note.stem) if kind == "zeppelin" else note.name
    with Environment.start() as env:
        if input is not None:
            shutil.copytree(input, env.input_dir, dirs_exist_ok=True)
        try:
            result = _run(env, note, env.output_dir / name, params, timeout, stop_on_error)
        except NoteFormatError as exc:
            console.print(f"[red]{note} cannot run: {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(1) from exc
        finally:
            shutil.copytree(env.output_dir, output, dirs_exist_ok=True)
    colour = "green" if result.succeeded else "red"
    console.print(f"[{colour}]{result.outcome.value}[/]: {escape(result.message)}")
    console.print(f"Executed note: {output / name}")
    raise typer.Exit(EXIT_CODES.get(result.outcome.name, 1))
