"""Blob storage for model payloads and Data Exchange files.

One small interface, so a local folder (the default) and an fsspec URL (an S3-compatible
object store, a shared mount) are interchangeable. Writes are atomic: in a folder a blob
is written under a temporary name and renamed into place; on an object store it appears
when its upload completes (see `fsspec_blobs`). No half blob is ever visible.
Reads and writes stream in chunks; nothing holds a whole blob in memory.

A local folder refuses a new blob while its disk is full (`store/space.py`), and its
writers hold a lock on their temporary file, so that the temporary files a dead process
left behind are told apart from those being written (`remove_leftovers`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from jobmanager.common.chunks import CHUNK_SIZE, chunks_of
from jobmanager.common.process_metrics import BLOB_BYTES
from jobmanager.store.space import DiskSpace

log = logging.getLogger("jobmanager.blobs")


class BlobTooLarge(Exception):
    """The stream is longer than the limit it was written with."""


class BlobWriter(Protocol):
    """A blob being written: `write` pieces, then `commit` (atomic) or `abort` (no trace).

    Push-style, so a parser that receives data in callbacks (a multipart upload) can
    write straight into the store. `write` raises BlobTooLarge past the limit.
    """

    @property
    def size(self) -> int: ...

    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self) -> int:
        """Make the blob visible under its key; return its size."""
        ...

    def abort(self) -> None:
        """Drop what was written; safe to call twice or after a failed commit."""
        ...


class BlobStore(Protocol):
    def new_key(self) -> str: ...

    def writer(self, key: str, limit: int | None = None) -> BlobWriter:
        """Start writing a new blob under `key`; nothing is visible until `commit`."""
        ...

    def write(self, key: str, chunks: Iterable[bytes], limit: int | None = None) -> int:
        """Store the chunks under `key`, atomically; return the size. Raises BlobTooLarge."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A path on this machine when the store is a local folder, else None."""
        ...


def check_key(key: str) -> str:
    """A key is lowercase hex (`new_key`), so it can never name a path outside the store."""
    if not key or not all(c in "0123456789abcdef" for c in key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class LocalBlobStore:
    """Blobs as files in a folder, fanned out by the key's first characters. `space` says
    whether its disk takes new blobs (by default it is not watched)."""

    def __init__(self, root: Path, space: DiskSpace | None = None) -> None:
        self.root = root
        self.space = space or DiskSpace([])
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)[:2] / key

    def writer(self, key: str, limit: int | None = None) -> BlobWriter:
        self.space.require_room("blobs")
        target = self._path(key)
        temporary = self.root / "tmp" / f"{key}.{uuid.uuid4().hex}"
        return _LocalWriter(temporary, target, limit, self.space)

    def remove_leftovers(self) -> int:
        """Delete the temporary files no writer holds (a process died while writing them);
        return how many."""
        removed = 0
        for path in (self.root / "tmp").iterdir():
            try:
                with path.open("rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    path.unlink()
            except OSError:  # being written (locked), or gone already
                continue
            removed += 1
        if removed:
            log.info("removed %d partial blobs left by a previous run", removed)
        return removed

    def write(self, key: str, chunks: Iterable[bytes], limit: int | None = None) -> int:
        return write_all(self.writer(key, limit), chunks)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        yield from counted_reads(chunks_of(self.open(key), chunk_size))

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def counted_reads(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The chunks, each counted in the blob bytes read (a metric)."""
    for chunk in chunks:
        BLOB_BYTES.labels("read").inc(len(chunk))
        yield chunk


class StreamingBlobWriter(ABC):
    """Bytes go to an open handle, counted against the limit; `commit` publishes them under
    the key, `abort` drops them. Either happens once: after one, the other does nothing."""

    def __init__(self, handle: Any, limit: int | None) -> None:
        self._handle: Any = handle
        self._limit = limit
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        if self._handle is None:
            raise ValueError("blob writer is closed")
        self.size += len(data)
        if self._limit is not None and self.size > self._limit:
            raise BlobTooLarge(f"larger than {self._limit} bytes")
        self._handle.write(data)

    def commit(self) -> int:
        if self._handle is None:
            raise ValueError("blob writer is closed")
        handle, self._handle = self._handle, None
        try:
            self._publish(handle)
        except BaseException:
            self._discard(handle)
            raise
        BLOB_BYTES.labels("written").inc(self.size)
        return self.size

    def abort(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            self._discard(handle)

    @abstractmethod
    def _publish(self, handle: Any) -> None:
        """Close `handle` and make what it wrote visible under the key."""

    @abstractmethod
    def _discard(self, handle: Any) -> None:
        """Close `handle` (perhaps closed already) without publishing; remove what it wrote."""


class _LocalWriter(StreamingBlobWriter):
    """Writes to a temporary file in the store's `tmp` folder; commit fsyncs and renames.
    A full disk met on the way raises DiskFull naming it."""

    def __init__(self, temporary: Path, target: Path, limit: int | None, space: DiskSpace) -> None:
        handle = temporary.open("wb")
        fcntl.flock(handle, fcntl.LOCK_EX)  # held until closed: see `remove_leftovers`
        super().__init__(handle, limit)
        self._temporary = temporary
        self._target = target
        self._space = space

    def write(self, data: bytes | memoryview) -> None:
        with self._space.naming("blobs"):
            super().write(data)

    def _publish(self, handle: Any) -> None:
        with self._space.naming("blobs"):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            self._target.parent.mkdir(exist_ok=True)
            os.replace(self._temporary, self._target)

    def _discard(self, handle: Any) -> None:
        try:
            handle.close()  # may fail to flush what is buffered (a full disk)
        finally:
            self._temporary.unlink(missing_ok=True)


def write_all(writer: BlobWriter, chunks: Iterable[bytes]) -> int:
    """Write every chunk and commit; on any error (BlobTooLarge too) nothing is stored."""
    try:
        for chunk in chunks:
            writer.write(chunk)
        return writer.commit()
    finally:
        writer.abort()


@dataclass(frozen=True)
class ObjectStoreAccess:
    """Where an S3-compatible store answers and who we are there. What is None comes from
    the standard AWS variables and files (`AWS_ENDPOINT_URL`, `AWS_REGION`,
    `AWS_ACCESS_KEY_ID`, ...), as every AWS client reads them."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


def local_blob_folder(url: str) -> Path | None:
    """The folder of a blob URL that is a plain path or `file://`; None for another scheme."""
    if "://" not in url:
        return Path(url)
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    return None
