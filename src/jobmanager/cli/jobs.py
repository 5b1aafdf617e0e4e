"""`jobmanager jobs`: submit, watch, list, show, stop jobs and fetch their outputs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from jobmanager.cli.common import console, errors
from jobmanager.cli.configurations import configuration_id, key_values
from jobmanager.cli.dataexchange import folder_of
from jobmanager.cli.job_events import (
    Follower,
    LivePrinter,
    StreamPrinter,
    end_line,
    print_problem,
)
from jobmanager.cli.login import session
from jobmanager.cli.models import model_id
from jobmanager.cli.names import Names
from jobmanager.cli.output import (
    JsonOption,
    TimeoutOption,
    Transfer,
    duration,
    error,
    now,
    print_json,
    print_table,
    say,
    show_resource,
    size,
)
from jobmanager.cli.retry_options import (
    BackoffMaxOption,
    BackoffOption,
    RetriesOption,
    RetryOnOption,
    retry_policy,
)
from jobmanager.client import Client, Job, JobOutput, Provenance
from jobmanager.client.folders import is_path
from jobmanager.domain.parameter_types import from_text

app = typer.Typer(
    help="Jobs: run a model on an input folder, outputs to an output folder.", no_args_is_help=True
)

EXIT_CODES = {"SUCCEEDED": 0, "FAILED": 1, "STOPPED": 2}
ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-P",
        help="Notebook parameter key=value (repeatable); True, False (true, false), None "
        "and numbers are typed as papermill's -p types them",
    ),
]
IntervalOption = Annotated[float, typer.Option(help="Seconds between status polls")]


def parameters(items: list[str] | None) -> dict[str, Any] | None:
    values = key_values(items or [], "--param")
    return {key: from_text(value) for key, value in values.items()} or None


def elapsed(job: Job) -> float:
    """Execution time so far (or in total, once ended)."""
    if job.start_date is None:
        return 0.0
    end = job.end_date or now()
    return (end - job.start_date).total_seconds()


def describe(job: Job) -> str:
    """One line: status, progress by paragraph or cell, title, time against the limit."""
    parts = [f"{job.status:<9}"]
    progress = job.progress
    if progress is not None and progress.total:
        parts.append(f"{progress.unit or 'step'} {progress.current}/{progress.total}")
        if progress.title:
            parts.append(progress.title)
    limit = job.maximum_execution_time_in_seconds
    parts.append(
        f"{duration(elapsed(job))} of {duration(limit)}" if limit else duration(elapsed(job))
    )
    if job.message and not job.is_final:
        parts.append(job.message)
    return "  ".join(parts)


def _bar(job: Job, width: int = 30) -> str:
    """`[####------]`: the paragraphs or cells done (the current one counts once final)."""
    progress = job.progress
    if progress is None or not progress.total:
        return ""
    done = progress.current if job.is_final else max(progress.current - 1, 0)
    filled = round(width * min(done, progress.total) / progress.total)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def _live_view(job: Job) -> Text:
    text = Text()
    text.append(f"job {job.id}\n", style="bold")
    text.append(describe(job))
    bar = _bar(job)
    if bar:
        text.append(f"\n{bar}")
    return text


def watch_job(api: Client, job_id: str, interval: float = 1.0) -> Job:
    """Follow a job until it is final: a live view on a terminal, a line per change
    otherwise, the model's output as it comes. Ctrl-C asks the job to stop; a second
    Ctrl-C stops watching."""
    printer = LivePrinter(console) if console.is_terminal else StreamPrinter()
    with Follower(api, job_id, printer) as follower:
        job = _watch(api, job_id, interval, follower.changed)
    print_problem(follower.problem, errors)
    return job


def _watch(api: Client, job_id: str, interval: float, wake: threading.Event) -> Job:
    stopping = False
    while True:
        try:
            return _follow(api, job_id, interval, wake)
        except KeyboardInterrupt:
            if stopping:
                error(
                    f"stopped watching job {job_id}, which was asked to stop",
                    f"Follow it with `jobmanager jobs watch {job_id}`",
                    130,
                )
            stopping = True
            say(f"asking job {job_id} to stop (Ctrl-C again to stop watching)")
            api.stop_job(job_id)


def _follow(api: Client, job_id: str, interval: float, wake: threading.Event) -> Job:
    if console.is_terminal:
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            return api.wait_for_job(
                job_id,
                interval=interval,
                on_update=lambda j: live.update(_live_view(j)),
                wake=wake,
            )
    last: list[tuple[Any, ...]] = []

    def line(job: Job) -> None:
        progress = job.progress
        key = (
            job.status,
            progress.current if progress else None,
            progress.title if progress else None,
        )
        if not last or last[-1] != key:
            last.append(key)
            console.print(escape(describe(job)), soft_wrap=True, highlight=False)

    return api.wait_for_job(job_id, interval=interval, on_update=line, wake=wake)


def finish(job: Job) -> None:
    """The final line, then exit 0 (succeeded), 1 (failed) or 2 (stopped)."""
    style = {"SUCCEEDED": "green", "FAILED": "red", "STOPPED": "yellow"}.get(job.status, "")
    message = f": {escape(job.message)}" if job.message else ""
    console.print(
        f"job {job.id} [{style}]{job.status}[/{style}] after {duration(elapsed(job))}{message}",
        soft_wrap=True,
        highlight=False,
    )
    raise typer.Exit(EXIT_CODES.get(job.status, 1))


@app.command("submit")
def submit(
    model: Annotated[str, typer.Option("--model", "-m", help="Model id or name")],
    config: Annotated[str, typer.Option("--config", "-c", help="Configuration id or name")],
    input_folder: Annotated[str, typer.Option("--input", "-i", help="Input folder id or path")],
    output_folder: Annotated[
        str, typer.Option("--output", "-o", help="Output folder id or path (created if a path)")
    ],
    timeout: TimeoutOption = None,
    param: ParamOption = None,
    retries: RetriesOption = None,
    retry_on: RetryOnOption = None,
    retry_wait: BackoffOption = None,
    retry_wait_max: BackoffMaxOption = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow it until it ends")] = False,
    interval: IntervalOption = 1.0,
    json_: JsonOption = False,
) -> None:
    """Start a job. With --watch, follow it and exit 0 succeeded, 1 failed, 2 stopped
    (with --json too: then only the final job is printed). Without --retries, the
    configuration's retry policy holds."""
    values = parameters(param)
    retry = retry_policy(retries, retry_on, retry_wait, retry_wait_max)
    with session() as api:
        job = api.submit_job(
            model_id(api, model),
            configuration_id(api, config),
            folder_of(api, input_folder).id,
            folder_of(api, output_folder, create=is_path(output_folder)).id,
            maximum_execution_time=timeout,
            parameters=values,
            retry=retry,
        )
        _started(api, job, watch, json_, interval)


@app.command("watch")
def watch(job_id: str, interval: IntervalOption = 1.0) -> None:
    """Follow a job until it ends; exit 0 succeeded, 1 failed, 2 stopped."""
    with session() as api:
        finish(watch_job(api, job_id, interval))


@app.command("logs")
def logs(
    job_id: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Go on as the job runs, until it ends")
    ] = False,
) -> None:
    """Print a job's output so far: its stdout to stdout, its stderr to stderr, where its
    paragraphs or cells start and fail to stderr. With -f, follow it until it ends and
    exit 0 succeeded, 1 failed, 2 stopped."""
    printer = StreamPrinter()
    end = None
    with session() as api:
        for event in api.iter_job_events(job_id, follow=follow):
            printer.show(event)
            end = event if event.is_end else end
    if end is not None:
        errors.print(escape(end_line(end)), soft_wrap=True, highlight=False)
        if follow:
            raise typer.Exit(EXIT_CODES.get(str(end.data.get("status")), 1))


@app.command("list")
def list_jobs(
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="Only these statuses (repeatable)")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model's jobs")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
    json_: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    query: dict[str, Any] = {}
    if status:
        query["status"] = {"or": [{"eq": value.upper()} for value in status]}
    if model:
        query["modelId"] = model
    with session() as api:
        jobs: list[Job] = []
        for job in api.iter_jobs(query or None, page_size=min(max(limit, 1), 100)):
            if len(jobs) >= limit:
                break
            jobs.append(job)
        if json_:
            print_json(jobs)
            return
        names = Names(api)
        print_table(
            ("id", "status", "model", "configuration", "created", "time", "message"),
            (
                (
                    j.id,
                    j.status,
                    names.model(j.model_id),
                    names.configuration(j.configuration_id),
                    j.creation_date,
                    duration(elapsed(j)),
                    j.message,
                )
                for j in jobs
            ),
            "no jobs",
        )


@app.command("show")
@app.command("info")
def show(job_id: str, json_: JsonOption = False) -> None:
    """Show one job, with where its time and memory went."""
    with session() as api:
        job = api.get_job(job_id)
        show_resource(job, json_, lambda found: _fields(found, Names(api)))


def _fields(job: Job, names: Names) -> list[tuple[str, Any]]:
    progress = job.progress
    return [
        ("id", job.id),
        ("status", job.status),
        ("message", job.message),
        ("queue position", job.queue_position or ""),
        ("progress", describe(job)),
        ("current", progress.title if progress else ""),
        ("model", names.model(job.model_id)),
        ("configuration", names.configuration(job.configuration_id)),
        ("input folder", job.input_folder_id),
        ("output folder", job.output_folder_id),
        ("time limit", duration(job.maximum_execution_time_in_seconds)),
        ("parameters", job.parameters or ""),
        ("created", job.creation_date),
        ("started", job.start_date),
        ("ended", job.end_date),
        *_attempts(job),
        *_accounting(job),
    ]


def _attempts(job: Job) -> list[tuple[str, Any]]:
    """One row per attempt: its worker, when it ran, how it ended."""
    rows = []
    for attempt in job.attempts:
        ended = attempt.end_date.isoformat() if attempt.end_date else "now"
        began = attempt.start_date.isoformat() if attempt.start_date else ""
        end = f", {attempt.outcome}: {attempt.message}" if attempt.outcome else ""
        rows.append((f"attempt {attempt.number}", f"{attempt.worker_id}, {began} to {ended}{end}"))
    return rows


def _accounting(job: Job) -> list[tuple[str, Any]]:
    """The accounting rows; a figure not known (yet) shows empty."""
    figures = job.accounting
    if figures is None:
        return []

    def seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.1f} s"

    def amount(value: int | None) -> str:
        return "" if value is None else size(value)

    source = f" (from its {figures.usage_source})" if figures.usage_source else ""
    memory = amount(figures.peak_memory_bytes)
    cpu = "" if figures.cpu_seconds is None else f"{figures.cpu_seconds:.2f} s{source}"
    return [
        ("queued", seconds(figures.queued_seconds)),
        ("starting", seconds(figures.starting_seconds)),
        ("running", seconds(figures.running_seconds)),
        ("saving outputs", seconds(figures.saving_seconds)),
        ("peak memory", "" if figures.peak_memory_bytes is None else memory + source),
        ("CPU time", cpu),
        ("bytes in", amount(figures.bytes_in)),
        ("bytes out", amount(figures.bytes_out)),
    ]


@app.command("stop")
def stop(job_id: str, json_: JsonOption = False) -> None:
    """Ask a job to stop (its outputs so far are kept)."""
    with session() as api:
        job = api.stop_job(job_id)
    if json_:
        print_json(job)
    else:
        say(f"job {job.id} is {job.status}")


@app.command("outputs")
def outputs(
    job_id: str,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Only these outputs, by their paths as listed (e.g. attempt-1/x.csv)"),
    ] = None,
    download: Annotated[
        Path | None, typer.Option("--download", "-d", help="Download them into this folder")
    ] = None,
    json_: JsonOption = False,
) -> None:
    """List the files a job saved — its own, even after a later job overwrote the same
    names in the output folder — or download them with --download DIR."""
    with session() as api:
        saved = _chosen(list(api.iter_job_outputs(job_id)), paths or [], job_id)
        if download is not None:
            total = _download_outputs(api, job_id, saved, download)
            say(f"downloaded {len(saved)} files ({size(total)}) to {download}")
            return
    if json_:
        print_json(saved)
        return
    print_table(
        ("path", "size", "sha256", "attempt"),
        ((o.path, size(o.size_in_bytes), o.sha256, o.attempt) for o in saved),
        f"job {job_id} has no outputs yet",
    )


def _chosen(saved: list[JobOutput], paths: list[str], job_id: str) -> list[JobOutput]:
    """The outputs named by `paths` (all when none is named)."""
    if not paths:
        return saved
    by_path = {output.path: output for output in saved}
    missing = [path for path in paths if path not in by_path]
    if missing:
        error(
            f"job {job_id} saved no output {missing[0]!r}",
            f"List its outputs with `jobmanager jobs outputs {job_id}`",
        )
    return [by_path[path] for path in dict.fromkeys(paths)]


def _download_outputs(api: Client, job_id: str, saved: list[JobOutput], local: Path) -> int:
    """Download the outputs below `local`, by their paths, with a progress bar; the bytes."""
    total = sum(output.size_in_bytes for output in saved)
    with Transfer("download", total) as transfer:
        for output in saved:
            parts = output.path.split("/")
            if any(part in ("", ".", "..") or "\\" in part for part in parts):
                error(f"refusing the unsafe output path {output.path!r}")
            transfer.file(output.path, output.size_in_bytes)
            api.download_job_output(
                job_id, output.path, local.joinpath(*parts), progress=transfer.advance
            )
    return total


@app.command("provenance")
def provenance(job_id: str, json_: JsonOption = False) -> None:
    """Show what a job ran on: model version, input checksums, parameters, configuration,
    the environment's packages (--json for all of it)."""
    with session() as api:
        record = api.get_job_provenance(job_id)
    show_resource(record, json_, _provenance_fields)


def _provenance_fields(record: Provenance) -> list[tuple[str, Any]]:
    environment = record.environment
    packages = environment.packages if environment else []
    return [
        ("job", record.job_id),
        ("model", record.model_id),
        ("model version", record.model_version_id),
        ("model sha256", record.model_checksum),
        ("parameters", record.parameters or ""),
        ("configuration", record.configuration.get("name", "")),
        ("python", environment.python if environment else ""),
        ("packages", f"{len(packages)} (--json lists them)"),
        *((f"input {path}", checksum) for path, checksum in record.inputs.items()),
        ("failed step", record.failed_step or ""),
        ("replayed", ", ".join(str(n) for n in record.replayed)),
        ("re-run of", record.rerun_of or ""),
        ("repair of", record.repair_of or ""),
    ]


@app.command("rerun")
def rerun(
    job_id: str,
    timeout: TimeoutOption = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-P",
            help="Replace the job's parameters with these key=value pairs (repeatable), "
            "typed as papermill's -p types them",
        ),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow it until it ends")] = False,
    json_: JsonOption = False,
) -> None:
    """Run a job again: the same model version, configuration and parameters, on the
    input folder as it is now (the new job warns if any input file changed)."""
    with session() as api:
        job = api.rerun_job(job_id, parameters=parameters(param), maximum_execution_time=timeout)
        _started(api, job, watch, json_)


@app.command("repair")
def repair(
    job_id: str,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow it until it ends")] = False,
    json_: JsonOption = False,
) -> None:
    """Re-run a FAILED or STOPPED job from its first failed paragraph or cell; the ones
    before it run again only to restore the kernel's state."""
    with session() as api:
        job = api.repair_job(job_id)
        _started(api, job, watch, json_)


def _started(api: Client, job: Job, watch: bool, json_: bool, interval: float = 1.0) -> None:
    """Say that a job started; with `watch`, follow it and exit with its status's code
    (with `json_`, only the job is printed: the final one when watched)."""
    if json_:
        final = _wait_quietly(api, job.id, interval) if watch else job
        print_json(final)
        raise typer.Exit(EXIT_CODES.get(final.status, 1) if watch else 0)
    say(f"submitted job {job.id}")
    if watch:
        finish(watch_job(api, job.id, interval))


def _wait_quietly(api: Client, job_id: str, interval: float) -> Job:
    """The final job, nothing printed on the way (woken by its events as `watch_job` is)."""
    with Follower(api, job_id, None) as follower:
        return api.wait_for_job(job_id, interval=interval, wake=follower.changed)
