"""Contents: the blobs of Data Exchange files and job outputs, one per tenant and SHA-256.

A write streams the bytes into a new blob under a fresh key, hashing them on the way
(`write_content`, or a `HashingWriter` for a multipart upload). The transaction that
makes a file or an output point to them calls `reference_in`: one upsert on the
(tenant, SHA-256) pair either counts one more reference to the content already stored
(the new blob is then a duplicate, deleted after the commit) or records the new blob as
the content. A transaction that stops pointing to a content calls `release_in`: one
reference fewer, and at zero the row goes and its blob key is handed back, to delete
once the transaction committed. So the count changes with the rows that refer, in their
transaction, and the foreign keys of `data_entries` and `job_outputs` refuse to delete a
content something still points to.

Concurrency. SQLite serialises writers. On PostgreSQL the upsert and the decrement lock
the content's row: two saves of the same bytes make one row counting both (the upsert
either inserts or updates, atomically), and a save racing the release of the last
reference either counts on the row before it is released (the count stays above zero)
or finds it gone and inserts its own blob as a new content. A released blob's key is
never reused (a new content always gets the key of the blob just written), so deleting
it after the commit can never remove bytes that something points to.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jobmanager.store.blobs import BlobStore, BlobWriter, write_all
from jobmanager.store.tables import Content
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.contents")
_BATCH = 500  # keys per statement


@dataclass(frozen=True)
class NewContent:
    """A blob just written and not yet referred to: its key, size and SHA-256 (hex)."""

    key: str
    size: int
    sha256: str


class HashingWriter:
    """A blob writer that hashes what it writes: `content()` after `commit`."""

    def __init__(self, key: str, writer: BlobWriter) -> None:
        self.key = key
        self._writer = writer
        self._digest = hashlib.sha256()

    @property
    def size(self) -> int:
        return self._writer.size

    def write(self, data: bytes | memoryview) -> None:
        self._writer.write(data)
        self._digest.update(data)

    def commit(self) -> int:
        return self._writer.commit()

    def abort(self) -> None:
        self._writer.abort()

    def content(self) -> NewContent:
        return NewContent(self.key, self._writer.size, self._digest.hexdigest())


def write_content(
    blobs: BlobStore, chunks: Iterable[bytes], limit: int | None = None
) -> NewContent:
    """Stream `chunks` into a new blob, hashed; nothing is stored on an error (BlobTooLarge
    too)."""
    key = blobs.new_key()
    writer = HashingWriter(key, blobs.writer(key, limit))
    write_all(writer, chunks)
    return writer.content()


def reference_in(session: Session, tenant_id: str, new: NewContent) -> str:
    """One more reference to the tenant's content of `new`'s bytes, in the caller's
    transaction: the key of the blob that holds them. When it is not `new.key`, the
    bytes were stored already and `new`'s blob is a duplicate (`duplicate_of`)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Content)
        .values(
            blob_key=new.key,
            tenant_id=tenant_id,
            sha256=new.sha256,
            size=new.size,
            refs=1,
            created_at=utcnow(),
        )
        .on_conflict_do_update(
            index_elements=[Content.tenant_id, Content.sha256],
            set_={"refs": Content.refs + 1},
        )
        .returning(Content.blob_key)
    )
    return str(session.execute(statement).scalar_one())


def duplicate_of(new: NewContent, referenced: str) -> list[str]:
    """The blob to delete after the commit: `new`'s, when the content was stored already."""
    return [new.key] if referenced != new.key else []


def release_in(session: Session, keys: Iterable[str | None]) -> list[str]:
    """One reference fewer to each key (a key given n times: n fewer), in the caller's
    transaction; the keys of the contents nothing refers to any more, whose rows are
    deleted: their blobs are the caller's to delete after the commit."""
    counts = Counter(key for key in keys if key)
    by_amount: dict[int, list[str]] = {}
    for key, amount in counts.items():
        by_amount.setdefault(amount, []).append(key)
    for amount, same in by_amount.items():
        same.sort()
        for start in range(0, len(same), _BATCH):
            session.execute(
                update(Content)
                .where(Content.blob_key.in_(same[start : start + _BATCH]))
                .values(refs=Content.refs - amount)
            )
    ordered = sorted(counts)
    gone: list[str] = []
    for start in range(0, len(ordered), _BATCH):
        gone += session.scalars(
            delete(Content)
            .where(Content.blob_key.in_(ordered[start : start + _BATCH]), Content.refs <= 0)
            .returning(Content.blob_key)
        )
    return gone


def delete_blobs(blobs: BlobStore, keys: Iterable[str]) -> None:
    """After a commit: a blob that cannot be deleted is only logged (an orphan)."""
    for key in keys:
        try:
            blobs.delete(key)
        except Exception:
            log.exception("could not delete blob %s (left as an orphan)", key)


def is_referenced(session: Session, key: str) -> bool:
    """Whether a content row holds this blob (a committed write referred to it)."""
    return session.get(Content, key) is not None
