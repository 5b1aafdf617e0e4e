"""Blobs on any fsspec filesystem (`s3://bucket/prefix`, `memory://…`, a mounted share).

The layout matches `LocalBlobStore`: `<root>/<key[:2]>/<key>`, with writes going to
`<root>/tmp/<key>.<random>` and moved into place at commit, so a reader never sees a
half-written blob. On object stores the move is a server-side copy plus delete.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import fsspec
from fsspec.implementations.local import LocalFileSystem

from jobmanager.chunks import CHUNK_SIZE, chunks_of
from jobmanager.store.blobs import (
    BlobWriter,
    TemporaryBlobWriter,
    check_key,
    counted_reads,
    write_all,
)


class FsspecBlobStore:
    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = root.rstrip("/")

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)[:2]}/{key}"

    def writer(self, key: str, limit: int | None = None) -> BlobWriter:
        target = self._path(key)
        temporary = f"{self.root}/tmp/{key}.{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        return _FsspecWriter(self.fs, temporary, target, limit)

    def write(self, key: str, chunks: Iterable[bytes], limit: int | None = None) -> int:
        return write_all(self.writer(key, limit), chunks)

    def open(self, key: str) -> BinaryIO:
        return cast(BinaryIO, self.fs.open(self._path(key), "rb"))

    def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        yield from counted_reads(chunks_of(self.open(key), chunk_size))

    def size(self, key: str) -> int:
        return int(self.fs.size(self._path(key)))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def local_path(self, key: str) -> Path | None:
        return Path(self._path(key)) if isinstance(self.fs, LocalFileSystem) else None


class _FsspecWriter(TemporaryBlobWriter):
    def __init__(
        self, fs: fsspec.AbstractFileSystem, temporary: str, target: str, limit: int | None
    ) -> None:
        super().__init__(fs.open(temporary, "wb"), limit)
        self._fs = fs
        self._temporary = temporary
        self._target = target

    def _publish(self, handle: Any) -> None:
        handle.close()
        self._fs.makedirs(self._target.rsplit("/", 1)[0], exist_ok=True)
        self._fs.mv(self._temporary, self._target)

    def _discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(self._temporary)
