"""Blob storage for model payloads and Data Exchange files.

One small interface, so a local folder (the default) and an fsspec URL (S3-compatible
storage, a shared mount) are interchangeable. Writes are atomic: a blob is written
under a temporary name and renamed into place, so no half blob is ever visible.
Reads and writes stream in chunks; nothing holds a whole blob in memory.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024


class BlobTooLarge(Exception):
    """The stream is longer than the limit it was written with."""


class BlobStore(Protocol):
    def new_key(self) -> str: ...

    def write(self, key: str, chunks: Iterable[bytes], limit: int | None = None) -> int:
        """Store the chunks under `key`, atomically; return the size. Raises BlobTooLarge."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def read_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A path on this machine when the store is a local folder, else None."""
        ...


class LocalBlobStore:
    """Blobs as files in a folder, fanned out by the key's first characters."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def _path(self, key: str) -> Path:
        if not key or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key

    def write(self, key: str, chunks: Iterable[bytes], limit: int | None = None) -> int:
        target = self._path(key)
        target.parent.mkdir(exist_ok=True)
        temporary = self.root / "tmp" / f"{key}.{uuid.uuid4().hex}"
        size = 0
        try:
            with temporary.open("wb") as handle:
                for chunk in chunks:
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise BlobTooLarge(f"larger than {limit} bytes")
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        return size

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def read_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        with self.open(key) as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def open_blob_store(url: str) -> BlobStore:
    """A local folder for a plain path or `file://` URL; other schemes go through fsspec."""
    if "://" not in url:
        return LocalBlobStore(Path(url))
    if url.startswith("file://"):
        return LocalBlobStore(Path(url.removeprefix("file://")))
    from jobmanager.store.fsspec_blobs import FsspecBlobStore

    return FsspecBlobStore(url)
