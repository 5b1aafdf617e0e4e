"""What the tests of shared contents check: the counts against the rows that refer, and the
blobs stored against the contents that hold them."""

from __future__ import annotations

from sqlalchemy import func, select

from jobmanager.store.blobs import BlobStore, LocalBlobStore
from jobmanager.store.db import Database
from jobmanager.store.fsspec_blobs import FsspecBlobStore
from jobmanager.store.tables import Content, DataEntry, JobOutput


def stored_keys(blobs: BlobStore) -> set[str]:
    """The keys of every blob the store holds (not those being written)."""
    if isinstance(blobs, LocalBlobStore):
        return {path.name for path in blobs.root.glob("??/*")}
    assert isinstance(blobs, FsspecBlobStore)
    found = [str(path) for path in blobs.fs.find(blobs.root)]
    return {path.rsplit("/", 1)[-1] for path in found if "/tmp/" not in path}


def counted(db: Database) -> dict[str, int]:
    """Each content's blob key and its count."""
    with db.reading() as session:
        return {key: refs for key, refs in session.execute(select(Content.blob_key, Content.refs))}


def referring(db: Database) -> dict[str, int]:
    """Each blob key and how many files and job outputs point to it."""
    found: dict[str, int] = {}
    with db.reading() as session:
        for column in (DataEntry.blob_key, JobOutput.blob_key):
            rows = session.execute(
                select(column, func.count()).where(column.is_not(None)).group_by(column)
            )
            for key, count in rows:
                found[str(key)] = found.get(str(key), 0) + count
    return found


def assert_consistent(db: Database, blobs: BlobStore, others: set[str] | None = None) -> None:
    """Every count is the number of rows that refer, and the store holds exactly the
    counted blobs (with `others`: blobs that are no file's nor output's, e.g. models')."""
    counts = counted(db)
    assert counts == referring(db)
    assert stored_keys(blobs) == set(counts) | (others or set())
