"""Blobs on a real S3 server (moto's, its own process): a large blob goes up in parts that
no listing or read shows until the upload completes, and an aborted one leaves nothing,
not even its parts."""

from __future__ import annotations

import os
from typing import Any

import pytest

from jobmanager.store.blob_factory import open_blob_store
from jobmanager.store.blobs import ObjectStoreAccess
from jobmanager.store.fsspec_blobs import PART_SIZE, FsspecBlobStore
from tests.s3 import MotoServer


@pytest.fixture
def blobs(moto: MotoServer) -> FsspecBlobStore:
    store = open_blob_store(f"s3://{moto.new_bucket()}/blobs", moto.access())
    assert isinstance(store, FsspecBlobStore)
    assert store.is_object_store
    return store


def pending_uploads(blobs: FsspecBlobStore) -> list[dict[str, Any]]:
    bucket = blobs.root.split("/")[0]
    answer = blobs.fs.call_s3("list_multipart_uploads", Bucket=bucket)
    return list(answer.get("Uploads", []))


def listed(blobs: FsspecBlobStore) -> list[str]:
    return [str(path) for path in blobs.fs.find(blobs.root)]


def test_a_blob_in_parts_appears_whole_on_completion(blobs: FsspecBlobStore) -> None:
    data = os.urandom(2 * PART_SIZE + 12345)
    key = blobs.new_key()
    writer = blobs.writer(key)
    for start in range(0, len(data), 1024 * 1024):
        writer.write(data[start : start + 1024 * 1024])
    (upload,) = pending_uploads(blobs)  # two parts are up already
    assert upload["Key"].endswith(key)
    assert listed(blobs) == []
    assert not blobs.exists(key)
    assert writer.commit() == len(data)
    assert pending_uploads(blobs) == []
    assert listed(blobs) == [f"{blobs.root}/{key[:2]}/{key}"]
    assert blobs.size(key) == len(data)
    assert b"".join(blobs.read_chunks(key)) == data


def test_an_aborted_upload_leaves_neither_object_nor_parts(blobs: FsspecBlobStore) -> None:
    key = blobs.new_key()
    writer = blobs.writer(key)
    writer.write(os.urandom(PART_SIZE + 1))
    assert len(pending_uploads(blobs)) == 1
    writer.abort()
    writer.abort()
    assert pending_uploads(blobs) == []
    assert listed(blobs) == []
    assert not blobs.exists(key)


def test_a_small_blob_is_one_put_at_commit(blobs: FsspecBlobStore) -> None:
    key = blobs.new_key()
    writer = blobs.writer(key)
    writer.write(b"small")
    assert pending_uploads(blobs) == []
    assert listed(blobs) == []
    writer.commit()
    assert b"".join(blobs.read_chunks(key)) == b"small"


def test_a_write_to_a_missing_bucket_fails_and_stores_nothing(moto: MotoServer) -> None:
    store = open_blob_store("s3://no-such-bucket-here/blobs", moto.access())
    with pytest.raises(FileNotFoundError):
        store.write(store.new_key(), [b"x" * 10])


def test_the_access_comes_from_the_aws_variables_when_not_given(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing in the settings: the endpoint, region and keys of the standard variables."""
    bucket = moto.new_bucket()
    access = moto.access()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", str(access.region))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = open_blob_store(f"s3://{bucket}/from-env", ObjectStoreAccess())
    key = store.new_key()
    store.write(key, [b"through the AWS variables"])
    assert b"".join(store.read_chunks(key)) == b"through the AWS variables"
