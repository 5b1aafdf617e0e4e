"""Blob storage for model payloads and Data Exchange files.

One small interface, so a local folder (the default) and an fsspec URL (S3-compatible
storage, a shared mount) are interchangeable. Writes are atomic: a blob is written
under a temporary name and renamed into place, so no half blob is ever visible.
Reads and writes stream in chunks; nothing holds a whole blob in memory.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from jobmanager.chunks import CHUNK_SIZE, chunks_of
from jobmanager.metrics import BLOB_BYTES


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
    """Blobs as files in a folder, fanned out by the key's first characters."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)[:2] / key

    def writer(self, key: str, limit: int | None = None) -> BlobWriter:
        target = self._path(key)
        temporary = self.root / "tmp" / f"{key}.{uuid.uuid4().hex}"
        return _LocalWriter(temporary, target, limit)

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


class TemporaryBlobWriter(ABC):
    """Bytes go to a temporary blob, counted against the limit; `commit` moves the blob
    into place, `abort` (also after a commit) removes whatever is left of it."""

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
        finally:
            self.abort()
        BLOB_BYTES.labels("written").inc(self.size)
        return self.size

    def abort(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            handle.close()
        self._discard()

    @abstractmethod
    def _publish(self, handle: Any) -> None:
        """Close `handle` and move the temporary blob to its key."""

    @abstractmethod
    def _discard(self) -> None:
        """Remove the temporary blob if it is still there."""


class _LocalWriter(TemporaryBlobWriter):
    """Writes to a temporary file in the store's `tmp` folder; commit fsyncs and renames."""

    def __init__(self, temporary: Path, target: Path, limit: int | None) -> None:
        super().__init__(temporary.open("wb"), limit)
        self._temporary = temporary
        self._target = target

    def _publish(self, handle: Any) -> None:
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        self._target.parent.mkdir(exist_ok=True)
        os.replace(self._temporary, self._target)

    def _discard(self) -> None:
        self._temporary.unlink(missing_ok=True)


def write_all(writer: BlobWriter, chunks: Iterable[bytes]) -> int:
    """Write every chunk and commit; on any error (BlobTooLarge too) nothing is stored."""
    try:
        for chunk in chunks:
            writer.write(chunk)
        return writer.commit()
    finally:
        writer.abort()


def open_blob_store(url: str) -> BlobStore:
    """A local folder for a plain path or `file://` URL; other schemes go through fsspec."""
    if "://" not in url:
        return LocalBlobStore(Path(url))
    if url.startswith("file://"):
        return LocalBlobStore(Path(url.removeprefix("file://")))
    from jobmanager.store.fsspec_blobs import FsspecBlobStore

    return FsspecBlobStore(url)
