"""Which errors say a storage is full, however they are wrapped: the local disk's, SQLite's,
PostgreSQL's and an object store's; and a full disk is a refusal, not an outage."""

from __future__ import annotations

import errno
import logging
import sqlite3

import psycopg.errors
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from s3fs.errors import translate_boto_error

from jobmanager.domain.errors import DiskFull
from jobmanager.store import space
from jobmanager.store.outages import database_away
from jobmanager.store.space import (
    LOCAL_DISK,
    OBJECT_STORE,
    POSTGRESQL,
    SQLITE,
    QuietFullDisk,
    full_storage,
)


def sqlite_full() -> sa.exc.OperationalError:
    """SQLite's own SQLITE_FULL, as SQLAlchemy raises it: a database capped at a few pages."""
    engine = sa.create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA max_page_count = 3")
            connection.exec_driver_sql("CREATE TABLE t (v BLOB)")
            connection.exec_driver_sql("INSERT INTO t VALUES (zeroblob(100000))")
    except sa.exc.OperationalError as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("the capped database took the row")


def minio_full(status: int = 507) -> ClientError:
    """What MinIO answers when its drives are full, as botocore raises it."""
    response = {
        "Error": {
            "Code": "XMinioStorageFull",
            "Message": "Storage backend has reached its minimum free drive threshold.",
        },
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PutObject")


def test_a_local_disk_full_or_over_quota() -> None:
    assert full_storage(OSError(errno.ENOSPC, "No space left on device")) == LOCAL_DISK
    assert full_storage(OSError(errno.EDQUOT, "Disk quota exceeded")) == LOCAL_DISK
    assert full_storage(DiskFull("the disk of the service's files")) == LOCAL_DISK
    assert full_storage(OSError(errno.EACCES, "Permission denied")) is None


def test_sqlite_full_through_sqlalchemy_is_no_outage() -> None:
    error = sqlite_full()
    assert isinstance(error.orig, sqlite3.OperationalError)
    assert full_storage(error) == SQLITE
    assert not database_away(error)  # answered at once, never waited for 120 s


def test_postgresql_disk_full_is_no_outage() -> None:
    original = psycopg.errors.DiskFull("could not extend file: No space left on device")
    wrapped = sa.exc.OperationalError("INSERT ...", {}, original)
    assert full_storage(wrapped) == POSTGRESQL
    assert not database_away(wrapped)
    refused = sa.exc.OperationalError("SELECT 1", {}, psycopg.OperationalError("refused"))
    assert full_storage(refused) is None and database_away(refused)


def test_an_object_store_full_as_botocore_and_s3fs_raise_it() -> None:
    assert full_storage(minio_full()) == OBJECT_STORE
    assert full_storage(minio_full(status=503)) == OBJECT_STORE  # the code alone says so
    translated = translate_boto_error(minio_full())
    assert isinstance(translated, OSError) and translated.errno != errno.ENOSPC
    assert full_storage(translated) == OBJECT_STORE
    other = ClientError(
        {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject"
    )
    assert full_storage(other) is None


def test_raised_during_another_error() -> None:
    def save() -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("while saving") from None

    with pytest.raises(RuntimeError) as raised:
        save()
    assert full_storage(raised.value) == LOCAL_DISK


@pytest.mark.parametrize("error", [ValueError("no"), sa.exc.IntegrityError("x", {}, ValueError())])
def test_other_errors_are_no_full_storage(error: Exception) -> None:
    assert full_storage(error) is None


def record_of(error: BaseException) -> logging.LogRecord:
    return logging.LogRecord("t", logging.ERROR, "f", 1, "failed", None, (type(error), error, None))


def test_the_log_says_a_remote_storage_is_full_once_and_no_traceback(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(space, "_REMOTE", space._RemoteFullness())
    quiet = QuietFullDisk()
    full = sa.exc.OperationalError("INSERT", {}, psycopg.errors.DiskFull("disk full"))
    with caplog.at_level(logging.INFO, logger="jobmanager.space"):
        assert not any([quiet.filter(record_of(full)) for _ in range(5)])
        assert quiet.filter(record_of(ValueError("a bug")))  # kept, with its traceback
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "the database server's disk is full: what needs room there fails (HTTP 507) "
        "until it has room again"
    ]
    monkeypatch.setattr(space, "QUIET_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="jobmanager.space"):
        space._REMOTE.end_quiet()
        space._REMOTE.end_quiet()
    assert [r.getMessage() for r in caplog.records][1:] == [
        "the database server's disk has not said it is full for 0 s"
    ]
