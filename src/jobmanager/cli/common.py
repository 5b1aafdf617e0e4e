"""What the commands share: settings loading with clear errors, the console.

The settings (pydantic) and the log formatter load when a command asks for them, not
at import: client commands, which need neither, start faster.
"""

from __future__ import annotations

import functools
import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from jobmanager.startup.services import Services
    from jobmanager.startup.settings import Settings

console = Console()
errors = Console(stderr=True)


@functools.cache
def cli_home() -> Path:
    """The home of this command (`home.choose_home`), chosen once; the line saying that an
    older version's `./.jobmanager` was moved, or is used where it is, goes to stderr."""
    from jobmanager.common.home import choose_home

    choice = choose_home()
    if choice.note is not None:
        errors.print(escape(choice.note), soft_wrap=True, highlight=False)
    return choice.path


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and flags, the home as `cli_home` chooses it; a bad
    value exits with one clear line."""
    from pydantic import ValidationError

    from jobmanager.startup.settings import Settings

    given = {name: value for name, value in overrides.items() if value is not None}
    given.setdefault("home", cli_home())
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
    a disk too full even to open the database with one line saying so, a database that
    cannot be reached or migrated with one line saying which and why."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from jobmanager.startup.services import Services  # the store loads only for server commands
    from jobmanager.startup.settings import mask_url
    from jobmanager.store.fsspec_blobs import BlobStoreUnavailable
    from jobmanager.store.space import WHERE, full_storage

    try:
        return Services.open(settings)
    except BlobStoreUnavailable as error:
        raise fail(str(error)) from None
    except Exception as error:
        storage = full_storage(error)
        if storage is not None:
            raise fail(f"{WHERE[storage]} is full: make some room there and start again") from None
        if not isinstance(error, SQLAlchemyError | CommandError):
            raise
        reason = mask_url(str(getattr(error, "orig", None) or error).strip().splitlines()[0])
        url = mask_url(settings.resolved_database_url)
        raise fail(
            f"the database {url} cannot be used: {reason} (JOBMANAGER_DATABASE_URL)"
        ) from None


def require_extra(settings: Settings) -> None:
    """Exit with one line naming the extra to install when the settings need a package
    that is not installed: Celery dispatch the `celery` extra (an `s3://` blob URL's
    `s3` extra is said by `open_services`)."""
    if settings.dispatch != "celery":
        return
    try:
        importlib.import_module("celery")
    except ImportError:
        raise fail(
            "JOBMANAGER_DISPATCH=celery needs Celery, which is not installed: "
            "pip install 'jobmanager[celery]'"
        ) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)  # `[s3]`: not markup
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
        from jobmanager.common.logs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    for chatty in ("httpx", "alembic"):  # one line per request or migration step
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
