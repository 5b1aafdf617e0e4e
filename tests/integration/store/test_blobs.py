"""Blob stores: the local folder, fsspec (memory:// and a local fsspec path) and a real S3
server (moto's, as its own process) behave alike."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.store.blob_factory import open_blob_store
from jobmanager.store.blobs import BlobStore, BlobTooLarge, LocalBlobStore
from jobmanager.store.fsspec_blobs import BlobStoreUnavailable, FsspecBlobStore
from tests.s3 import MotoServer


@pytest.fixture(params=["local", "fsspec-memory", "fsspec-file", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    elif request.param == "s3":
        moto: MotoServer = request.getfixturevalue("moto")
        yield FsspecBlobStore.for_url(f"s3://{moto.new_bucket()}/blobs", moto.access())
    elif request.param == "fsspec-file":
        yield FsspecBlobStore(f"file://{tmp_path}/blobs")
    else:
        store = FsspecBlobStore(f"memory://test-{uuid.uuid4().hex}/blobs")
        yield store
        if store.fs.exists(store.root):
            store.fs.rm(store.root, recursive=True)


def visible_files(blobs: BlobStore) -> list[str]:
    """Every file under the store's root, the temporary folder included."""
    if isinstance(blobs, LocalBlobStore):
        return sorted(str(p.relative_to(blobs.root)) for p in blobs.root.rglob("*") if p.is_file())
    assert isinstance(blobs, FsspecBlobStore)
    found = blobs.fs.find(blobs.root) if blobs.fs.exists(blobs.root) else []
    root = blobs.root.lstrip("/") + "/"
    return sorted(str(path).lstrip("/").removeprefix(root) for path in found)


def test_write_then_read_back(blobs: BlobStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    key = blobs.new_key()
    size = blobs.write(key, (data[i : i + 65536] for i in range(0, len(data), 65536)))
    assert size == len(data) == blobs.size(key)
    assert blobs.exists(key)
    chunks = list(blobs.read_chunks(key, chunk_size=1024 * 1024))
    assert [len(c) for c in chunks] == [1024 * 1024] * 3 + [17]
    assert b"".join(chunks) == data
    with blobs.open(key) as handle:
        assert handle.read(5) == data[:5]
    assert visible_files(blobs) == [f"{key[:2]}/{key}"]


def test_empty_blob(blobs: BlobStore) -> None:
    key = blobs.new_key()
    assert blobs.write(key, []) == 0
    assert blobs.exists(key)
    assert blobs.size(key) == 0
    assert list(blobs.read_chunks(key)) == []


def test_nothing_is_visible_until_commit(blobs: BlobStore) -> None:
    key = blobs.new_key()
    writer = blobs.writer(key)
    writer.write(b"half")
    assert not blobs.exists(key)
    writer.write(memoryview(b"-and-half"))
    assert writer.commit() == len(b"half-and-half")
    assert b"".join(blobs.read_chunks(key)) == b"half-and-half"
    assert visible_files(blobs) == [f"{key[:2]}/{key}"]


def test_abort_leaves_no_trace(blobs: BlobStore) -> None:
    key = blobs.new_key()
    writer = blobs.writer(key)
    writer.write(b"discard me")
    writer.abort()
    writer.abort()
    assert not blobs.exists(key)
    assert visible_files(blobs) == []


def test_over_the_limit_raises_and_stores_nothing(blobs: BlobStore) -> None:
    key = blobs.new_key()
    with pytest.raises(BlobTooLarge):
        blobs.write(key, [b"12345", b"678"], limit=7)
    assert not blobs.exists(key)
    assert visible_files(blobs) == []
    assert blobs.write(key, [b"12345", b"67"], limit=7) == 7


def test_an_error_in_the_source_stores_nothing(blobs: BlobStore) -> None:
    def failing() -> Iterator[bytes]:
        yield b"some"
        raise OSError("the source broke")

    key = blobs.new_key()
    with pytest.raises(OSError, match="source broke"):
        blobs.write(key, failing())
    assert visible_files(blobs) == []


def test_delete_is_idempotent(blobs: BlobStore) -> None:
    key = blobs.new_key()
    blobs.write(key, [b"x"])
    blobs.delete(key)
    blobs.delete(key)
    assert not blobs.exists(key)
    with pytest.raises(FileNotFoundError):
        blobs.open(key)


@pytest.mark.parametrize("key", ["", "../etc/passwd", "ABC", "a/b", "12 34"])
def test_keys_that_could_escape_are_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a blob key"):
        blobs.write(key, [b"x"])
    with pytest.raises(ValueError, match="not a blob key"):
        blobs.exists(key)


def test_local_path_only_on_this_machine(tmp_path: Path) -> None:
    memory = FsspecBlobStore(f"memory://test-{uuid.uuid4().hex}")
    assert memory.local_path(memory.new_key()) is None
    on_disk = FsspecBlobStore(f"file://{tmp_path}/b")
    key = on_disk.new_key()
    on_disk.write(key, [b"abc"])
    path = on_disk.local_path(key)
    assert path is not None
    assert path.read_bytes() == b"abc"


def test_open_blob_store_picks_the_implementation(tmp_path: Path) -> None:
    assert isinstance(open_blob_store(str(tmp_path / "a")), LocalBlobStore)
    assert isinstance(open_blob_store(f"file://{tmp_path}/b"), LocalBlobStore)
    store = open_blob_store(f"memory://test-{uuid.uuid4().hex}/c")
    assert isinstance(store, FsspecBlobStore)
    key = store.new_key()
    store.write(key, [b"through fsspec"])
    assert b"".join(store.read_chunks(key)) == b"through fsspec"


def test_a_url_whose_package_is_missing_says_what_to_install() -> None:
    with pytest.raises(BlobStoreUnavailable, match=r"not installed.*pip install"):
        open_blob_store("gcs://some-bucket/blobs")
