"""`jobmanager doctor`: checks a configuration end to end and says what is wrong, in words.

The checks run in order, one line each (`OK`, `FAIL`, `WARN` or `SKIP`): the settings,
the database (reachable, migrated), the broker (with Celery dispatch), the object store
(write, read back, delete), the sandbox (on this host), the jobs' network (on this host:
`WARN` where the network stack is missing, since only jobs that ask for network are
refused), the API replicas (they share the signing key and the public URL), the workers
(one is up, with Celery dispatch) and a trivial job run through the configured
dispatcher. A check whose prerequisite failed is skipped, naming it. The exit code is 1
when any check failed. Doctor changes nothing but an empty database (it makes the
tables, as `serve` would at its first start) and the doctor's own tenant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from jobmanager.cli.doctor_cluster import check_replicas, check_workers
from jobmanager.cli.doctor_findings import CheckFailed, CheckWarned, Findings
from jobmanager.cli.doctor_job import check_job
from jobmanager.startup.settings import Settings, mask_url

PROBE = b"jobmanager doctor probe"
T = TypeVar("T")
WIDTH = 14  # the check's name column


def doctor(
    timeout: Annotated[
        int, typer.Option(min=5, help="Seconds the trivial job may take to finish")
    ] = 120,
) -> None:
    """Check this configuration end to end: settings, database, broker, object store,
    sandbox, a trivial job. Says what is wrong and how to fix it; exit code 1 if anything is."""
    logging.basicConfig(level=logging.ERROR, force=True)  # the lines below say it all
    try:
        settings = Settings()
    except ValidationError as error:
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"])
            report("settings", False, f"JOBMANAGER_{name.upper()}: {item['msg']}")
        raise typer.Exit(1) from None
    report("settings", True, describe_settings(settings))
    findings = Findings(settings)
    try:
        for name, check, needs in steps(settings, timeout):
            missing = [need for need in needs if need in findings.failed]
            if missing:
                findings.failed.add(name)
                report(name, None, f"skipped: needs {', '.join(missing)}")
                continue
            try:
                report(name, True, check(findings))
            except CheckWarned as warning:
                typer.echo(f"{'WARN':<5} {name:<{WIDTH}} {warning}")
            except CheckFailed as error:
                findings.failed.add(name)
                report(name, False, str(error))
            except Exception as error:  # a doctor reports what no check foresaw, too
                findings.failed.add(name)
                report(name, False, f"unexpected {type(error).__name__}: {reason(error)}")
    finally:
        findings.close()
    if findings.failed:
        raise typer.Exit(1)


def report(name: str, ok: bool | None, text: str) -> None:
    mark = "SKIP" if ok is None else "OK" if ok else "FAIL"
    typer.echo(f"{mark:<5} {name:<{WIDTH}} {text}")


def describe_settings(settings: Settings) -> str:
    return (
        f"database {mask_url(settings.resolved_database_url)}, "
        f"blobs {settings.resolved_blob_url}, dispatch {settings.dispatch}, "
        f"isolation {settings.isolation}"
    )


Check = Callable[[Findings], str]


def steps(settings: Settings, timeout: int) -> list[tuple[str, Check, tuple[str, ...]]]:
    """Each check with the checks it needs. The job runs on the host's sandbox with local
    dispatch, on the workers (through the broker) with Celery."""
    runs_on = ("broker", "workers") if settings.dispatch == "celery" else ("sandbox",)
    return [
        ("database", check_database, ()),
        ("broker", check_broker, ()),
        ("object store", check_blobs, ()),
        ("sandbox", check_sandbox, ()),
        ("job network", check_network, ("sandbox",)),
        ("replicas", check_replicas, ("database",)),
        ("workers", check_workers, ("database",)),
        ("trivial job", lambda f: check_job(f, timeout), ("database", "object store", *runs_on)),
    ]


def reason(error: BaseException) -> str:
    """The first line of what an exception says, the driver's own words when wrapped."""
    inner = getattr(error, "orig", None) or error
    text = str(inner).strip().splitlines()
    return text[0].rstrip(".") if text else type(inner).__name__


def check_database(findings: Findings) -> str:
    from jobmanager.store.db import Database, head_revision

    url = findings.settings.resolved_database_url
    shown = mask_url(url)
    options: dict[str, Any] = {}
    if not url.startswith("sqlite"):
        options["connect_args"] = {"connect_timeout": 5}
    database = Database(url, **options)
    try:
        revision = database.schema_revision()
    except Exception as error:
        database.dispose()
        raise CheckFailed(
            f"cannot connect to {shown}: {reason(error)}. Is the database server running, "
            "and are host, port, user and database name right (JOBMANAGER_DATABASE_URL)?"
        ) from None
    findings.database = database
    head = head_revision()
    if revision is None:  # what `serve` would do at its first start; never an upgrade
        database.migrate()
        return f"{shown} answers; it had no tables: made them (migration {head})"
    if revision != head:
        raise CheckFailed(
            f"{shown} is at migration {revision}, this jobmanager's newest is {head}: "
            "start `jobmanager serve` of this version once (it migrates at start), or "
            "upgrade jobmanager if the database is newer"
        )
    return f"{shown} answers, migrated to {head}"


def check_broker(findings: Findings) -> str:
    settings = findings.settings
    if settings.dispatch != "celery":
        return "not used: JOBMANAGER_DISPATCH is local (jobs run in the service's own slots)"
    if settings.broker_url is None:
        raise CheckFailed(
            "JOBMANAGER_DISPATCH=celery needs JOBMANAGER_BROKER_URL, "
            "e.g. amqp://user:password@host:5672// or redis://host:6379/0"
        )
    from kombu.connection import Connection

    url = settings.broker_url.get_secret_value()
    try:
        with Connection(url, connect_timeout=5) as connection:  # type: ignore[no-untyped-call]
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=5)
    except Exception as error:
        raise CheckFailed(
            f"cannot reach the broker at {mask_url(url)}: {reason(error)}. Is it running, "
            "and are host, port and credentials right (JOBMANAGER_BROKER_URL)?"
        ) from None
    return f"{mask_url(url)} answers"


def check_blobs(findings: Findings) -> str:
    from jobmanager.startup.services import open_blobs
    from jobmanager.store.fsspec_blobs import BlobStoreUnavailable

    url = findings.settings.resolved_blob_url
    hint = blob_hint(url)
    try:
        blobs = open_blobs(findings.settings)
    except (BlobStoreUnavailable, OSError, ValueError) as error:
        raise CheckFailed(f"cannot open {url}: {reason(error)}. {hint}") from None
    key = blobs.new_key()
    attempt(f"cannot write to {url}", hint, lambda: blobs.write(key, [PROBE]))
    read_back = attempt(
        f"wrote to {url} but cannot read it back", hint, lambda: b"".join(blobs.read_chunks(key))
    )
    if read_back != PROBE:
        raise CheckFailed(f"{url} gave back other bytes than were written to it")
    attempt(f"wrote to {url} but the probe cannot be removed", hint, lambda: blobs.delete(key))
    if blobs.exists(key):
        raise CheckFailed(f"{url} still holds the probe after it was removed")
    findings.blobs = blobs
    return f"{url}: written, read back and deleted"


def attempt(what: str, hint: str, action: Callable[[], T]) -> T:
    """What `action` answers; CheckFailed saying what failed, why, and the hint if it raises."""
    try:
        return action()
    except Exception as error:
        raise CheckFailed(f"{what}: {reason(error)}. {hint}") from None


def blob_hint(url: str) -> str:
    if url.startswith(("s3://", "s3a://")):
        return (
            "Check that the bucket exists, that the store answers at "
            "JOBMANAGER_BLOB_ENDPOINT_URL (or AWS_ENDPOINT_URL), and the region and "
            "credentials (JOBMANAGER_BLOB_REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY)"
        )
    return "Check JOBMANAGER_BLOB_URL and that this user may write there"


def check_sandbox(findings: Findings) -> str:
    from jobmanager.jobrun.environment_pool import IsolationUnavailable, open_isolation

    try:
        findings.isolation = open_isolation(findings.settings)
    except IsolationUnavailable as error:
        raise CheckFailed(str(error)) from None
    return findings.isolation.describe() + _on_this_host(findings)


def check_network(findings: Findings) -> str:
    isolation = findings.isolation
    assert isolation is not None
    if isolation.network_missing:
        raise CheckWarned(isolation.describe_network() + _on_this_host(findings))
    return isolation.describe_network() + _on_this_host(findings)


def _on_this_host(findings: Findings) -> str:
    celery = findings.settings.dispatch == "celery"
    return " (on this host; run doctor on each worker host too)" if celery else ""
