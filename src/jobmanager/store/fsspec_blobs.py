"""Blobs on any fsspec filesystem: an S3-compatible object store (`s3://bucket/prefix`,
through s3fs), `memory://…`, a mounted share.

The layout matches `LocalBlobStore`: `<root>/<key[:2]>/<key>`. How a blob becomes
visible whole depends on the kind of store:
- An object store shows an object only once its upload completes: the parts of a
  multipart upload are in no listing and no read until `CompleteMultipartUpload`, and a
  blob smaller than one part goes up in a single PUT at commit. So a blob is written
  straight to its key, a part (`PART_SIZE`) at a time, and abort cancels the upload.
- A filesystem (a mount, `memory://`) is written like the local folder: under
  `<root>/tmp/<key>.<random>`, moved into place at commit.
An object is read from one GET as its bytes arrive (`_ObjectStream`): no ranges, no
read-ahead buffer.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import fsspec
from fsspec.asyn import sync
from fsspec.implementations.local import LocalFileSystem

from jobmanager.common.chunks import CHUNK_SIZE, chunks_of
from jobmanager.store.blobs import (
    BlobWriter,
    ObjectStoreAccess,
    StreamingBlobWriter,
    check_key,
    counted_reads,
    write_all,
)

PART_SIZE = 8 * 1024 * 1024
"""A multipart upload's part (S3 wants at least 5 MiB): what one upload holds in memory.
10,000 parts make blobs of up to 78 GiB."""

OBJECT_STORES = {"s3", "s3a"}


class BlobStoreUnavailable(RuntimeError):
    """The blob URL cannot be opened here; the message says why and what to do."""


def s3_options(access: ObjectStoreAccess) -> dict[str, Any]:
    """s3fs's options: the access given, never a cached listing (other processes write
    the same bucket), bounded waits, and the part size."""
    options: dict[str, Any] = {
        "use_listings_cache": False,
        "default_block_size": PART_SIZE,
        "config_kwargs": {
            "connect_timeout": 5,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
        },
    }
    if access.endpoint_url:
        options["endpoint_url"] = access.endpoint_url
    if access.region:
        options["client_kwargs"] = {"region_name": access.region}
    if access.access_key_id:
        options["key"] = access.access_key_id
    if access.secret_access_key:
        options["secret"] = access.secret_access_key
    return options


class FsspecBlobStore:
    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url
        try:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except ImportError as error:
            raise BlobStoreUnavailable(
                f"{url.split('://')[0]}:// blob URLs need a package that is not installed "
                f"({error}); for S3: pip install 'jobmanager[s3]'"
            ) from None
        self.fs: fsspec.AbstractFileSystem = fs
        self.root: str = root.rstrip("/")
        self.is_object_store = bool(OBJECT_STORES & set(_protocols(fs)))

    @classmethod
    def for_url(cls, url: str, access: ObjectStoreAccess) -> FsspecBlobStore:
        """The store of `url`; an `s3://` URL with `access` applied."""
        scheme = url.split("://", 1)[0]
        return cls(url, **(s3_options(access) if scheme in OBJECT_STORES else {}))

    def new_key(self) -> str:
        return uuid.uuid4().hex

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)[:2]}/{key}"

    def writer(self, key: str, limit: int | None = None) -> BlobWriter:
        target = self._path(key)
        if self.is_object_store:
            return _UploadWriter(self.fs.open(target, "wb", block_size=PART_SIZE), limit)
        temporary = f"{self.root}/tmp/{key}.{uuid.uuid4().hex}"
        self.fs.makedirs(f"{self.root}/tmp", exist_ok=True)
        return _MovingWriter(self.fs, temporary, target, limit)

    def write(self, key: str, chunks: Iterable[bytes], limit: int | None = None) -> int:
        return write_all(self.writer(key, limit), chunks)

    def open(self, key: str) -> BinaryIO:
        if self.is_object_store:
            return cast(BinaryIO, _ObjectStream(self.fs, self._path(key)))
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


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


class _UploadWriter(StreamingBlobWriter):
    """Writes straight to the key of an object store: closing the handle completes the
    upload (the object appears whole); discarding it aborts the multipart upload, so
    neither the object nor its parts stay behind."""

    def _publish(self, handle: Any) -> None:
        handle.close()

    def _discard(self, handle: Any) -> None:
        handle.discard()
        handle.closed = True  # a discarded file must not complete the upload when collected


class _MovingWriter(StreamingBlobWriter):
    """Writes under a temporary name of a filesystem and moves it into place at commit."""

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

    def _discard(self, handle: Any) -> None:
        try:
            handle.close()  # may fail to flush what is buffered (a full disk)
        finally:
            with contextlib.suppress(FileNotFoundError):
                self._fs.rm_file(self._temporary)


class _ObjectStream(io.RawIOBase):
    """An object's bytes as they arrive from one GET, read through s3fs's event loop."""

    def __init__(self, fs: Any, path: str) -> None:
        bucket, key, _ = fs.split_path(path)
        self._loop = fs.loop
        self._body = fs.call_s3("get_object", Bucket=bucket, Key=key)["Body"]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """`size` bytes (all that are left with -1), fewer only at the end of the object."""
        if size < 0:
            return bytes(sync(self._loop, self._body.read))
        first = sync(self._loop, self._body.read, size)
        if len(first) == size or not first:
            return bytes(first)
        gathered = bytearray(first)
        while len(gathered) < size and (
            more := sync(self._loop, self._body.read, size - len(gathered))
        ):
            gathered += more
        return bytes(gathered)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Release the connection, also when the reader stops before the end."""
        if not self.closed:
            sync(self._loop, self._body.aclose)
        super().close()
