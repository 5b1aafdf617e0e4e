"""How the client commands show things: tables or `--json`, sizes and times, byte progress
bars, and one clear line (no traceback) for every error a command can meet."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from jobmanager.cli.common import console, errors
from jobmanager.client import (
    ApiError,
    AuthError,
    JobmanagerError,
    NotFoundError,
    ServerUnavailable,
)
from jobmanager.client.types import ApiObject

R = TypeVar("R", bound=ApiObject)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable JSON on stdout, nothing else")
]
# No default of its own: without --timeout nothing is sent and the service's applies.
TimeoutOption = Annotated[
    int | None,
    typer.Option("--timeout", help="Maximum execution time in seconds [default: the service's]"),
]


def error(message: str, hint: str = "", code: int = 1) -> NoReturn:
    """One line on stderr saying what happened and what to do, then exit `code`."""
    text = f"{message}. {hint}" if hint else message
    errors.print(f"[red]error:[/red] {escape(text)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def reported(url: str = "") -> Iterator[None]:
    """Turn what the client raises (and local file errors) into `error()` lines."""
    try:
        yield
    except ServerUnavailable as problem:
        error(
            str(problem),
            "Start it with `jobmanager serve`, or log in to another with `jobmanager login --url`",
        )
    except AuthError as problem:
        error(
            f"the server at {url or problem.url} refused the credentials: {problem.message}",
            "Run `jobmanager login` with a valid client id and secret",
        )
    except NotFoundError as problem:
        error(problem.message, "Check the id or path (the list commands show what exists)")
    except ApiError as problem:
        error(f"{problem.message} (HTTP {problem.status}, logref {problem.logref})")
    except JobmanagerError as problem:
        error(str(problem), "Check the server URL (`jobmanager login --url`)")
    except FileNotFoundError as problem:
        error(f"no such file or folder: {problem.filename}", "Check the local path")
    except (IsADirectoryError, NotADirectoryError, PermissionError) as problem:
        error(f"{problem.strerror}: {problem.filename}", "Check the local path")


def say(text: str) -> None:
    """A plain message on stdout, never wrapped or styled."""
    console.print(escape(text), soft_wrap=True, highlight=False)


def print_json(value: Any) -> None:
    """JSON on stdout; resources as the server sent them."""
    sys.stdout.write(json.dumps(_plain(value), indent=2) + "\n")
    sys.stdout.flush()


def _plain(value: Any) -> Any:
    if isinstance(value, ApiObject):
        return value.raw
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], empty: str) -> None:
    """A table on stdout, or `empty` when there are no rows."""
    table = Table(*columns, box=None, header_style="bold", pad_edge=False)
    count = 0
    for row in rows:
        table.add_row(*(escape(cell_text(cell)) for cell in row))
        count += 1
    if count:
        # Never cut ids short: lay the table out at its natural width.
        natural = Measurement.get(console, console.options.update_width(100_000), table).maximum
        wide = Console(
            file=console.file,
            width=max(console.width, natural),
            force_terminal=console.is_terminal,
            no_color=console.no_color,
        )
        wide.print(table)
    else:
        console.print(escape(empty))


def print_fields(fields: Sequence[tuple[str, Any]]) -> None:
    """`name: value` lines for one resource."""
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        console.print(f"[bold]{name:<{width}}[/bold]  {escape(cell_text(value))}", soft_wrap=True)


def show_resource(resource: R, json_: bool, fields: Callable[[R], list[tuple[str, Any]]]) -> None:
    """One resource: its JSON with `--json`, else its fields as lines."""
    if json_:
        print_json(resource)
    else:
        print_fields(fields(resource))


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def when(moment: datetime | None) -> str:
    """A timestamp in local time, to the second."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float) -> str:
    """`1:02:03` or `2:03`."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def now() -> datetime:
    return datetime.now(UTC)


class Transfer:
    """A byte progress bar on stderr (only on a terminal): one task per file."""

    def __init__(self, verb: str, total: int | None) -> None:
        self.verb = verb
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=errors,
            disable=not errors.is_terminal,
            transient=True,
        )
        self.overall = self.progress.add_task(f"{verb} total", total=total)
        self.current: Any = None
        self.bytes = 0
        self.files = 0

    def __enter__(self) -> Transfer:
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def file(self, name: str, length: int | None) -> None:
        """A new file starts."""
        if self.current is not None:
            self.progress.remove_task(self.current)
        self.current = self.progress.add_task(escape(name), total=length)
        self.files += 1

    def advance(self, count: int) -> None:
        self.bytes += count
        self.progress.advance(self.overall, count)
        if self.current is not None:
            self.progress.advance(self.current, count)
