"""The media type of a stored file from its name: what a job's outputs are stored with.

Python's own table answers (not the host's `/etc/mime.types`, so that every machine
stores the same type), completed with kinds that jobs write and the table lacks (the
executed note and notebook, logs, Parquet). A compressed file is its compression's
type (`a.csv.gz` is `application/gzip`: its bytes are gzip). Anything else is
`application/octet-stream`.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

UNKNOWN = "application/octet-stream"
_TABLE = mimetypes.MimeTypes()
_EXTRA = {
    ".zpln": "application/json",
    ".ipynb": "application/x-ipynb+json",
    ".log": "text/plain",
    ".parquet": "application/vnd.apache.parquet",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".jsonl": "application/jsonl",
    ".ndjson": "application/x-ndjson",
}
_COMPRESSION = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "br": "application/x-brotli",
    "compress": "application/x-compress",
}


def media_type_of(name: str) -> str:
    """The media type of a file called `name` (its last path part counts)."""
    base = PurePosixPath(name).name
    guessed, encoding = _TABLE.guess_type(base, strict=True)
    if encoding is not None:
        return _COMPRESSION.get(encoding, UNKNOWN)
    if guessed is not None:
        return guessed
    return _EXTRA.get(PurePosixPath(base.lower()).suffix, UNKNOWN)
