"""What the commands share: settings loading with clear errors, the console.

The settings (pydantic) and the log formatter load when a command asks for them, not
at import: client commands, which need neither, start faster.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from jobmanager.services import Services
    from jobmanager.settings import Settings

console = Console()
errors = Console(stderr=True)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and flags; a bad value exits with one clear line."""
    from pydantic import ValidationError

    from jobmanager.settings import Settings

    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as error:
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"])
            errors.print(f"[red]setting {field}[/red]: {item['msg']} (JOBMANAGER_{field.upper()})")
        raise typer.Exit(2) from None


def open_services(settings: Settings) -> Services:
    """The database, blob store and keys of the settings; a blob URL this installation
    cannot open (s3:// without the `s3` extra) exits with one line saying what to install,
    a disk too full even to open the database with one line saying so."""
    from jobmanager.services import Services  # the store loads only for server commands
    from jobmanager.store.fsspec_blobs import BlobStoreUnavailable
    from jobmanager.store.space import WHERE, full_storage

    try:
        return Services.open(settings)
    except BlobStoreUnavailable as error:
        raise fail(str(error)) from None
    except Exception as error:
        storage = full_storage(error)
        if storage is None:
            raise
        raise fail(f"{WHERE[storage]} is full: make some room there and start again") from None


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}")  # `[s3]` is text, not markup
    return typer.Exit(code)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr: lines of text, or JSON objects (`JsonFormatter`) with `json`. A
    failure a full disk caused is said once, not a traceback per attempt (`QuietFullDisk`)."""
    from jobmanager.store.space import QuietFullDisk

    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(QuietFullDisk())
    if log_format == "json":
        from jobmanager.logs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    for chatty in ("httpx", "alembic"):  # one line per request or migration step
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
