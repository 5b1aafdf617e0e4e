"""The blob store a URL names: a local folder (`blobs.py`) or an fsspec URL
(`fsspec_blobs.py`), each built on the interface of `blobs.py`."""

from __future__ import annotations

from jobmanager.store.blobs import BlobStore, LocalBlobStore, ObjectStoreAccess, local_blob_folder
from jobmanager.store.space import DiskSpace


def open_blob_store(
    url: str, access: ObjectStoreAccess | None = None, space: DiskSpace | None = None
) -> BlobStore:
    """A local folder for a plain path or `file://` URL (watched by `space`); other schemes
    go through fsspec (`access` applies to `s3://` URLs)."""
    folder = local_blob_folder(url)
    if folder is not None:
        return LocalBlobStore(folder, space)
    # fsspec loads only for a URL that needs it (a tenth of a second at start-up).
    from jobmanager.store.fsspec_blobs import FsspecBlobStore

    return FsspecBlobStore.for_url(url, access or ObjectStoreAccess())
