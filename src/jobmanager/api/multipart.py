"""Streaming multipart/form-data uploads: the `file` part goes straight into a blob.

Usage (in an `async def` route marked `@streams_upload`)::

    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    with upload.discard_on_error():
        record = await run_in_threadpool(store.things.create, ..., upload.blob_key)

`read_multipart` reads `request.stream()` through python-multipart's streaming
parser. The bytes of the part named `file` are written into a new blob as they
arrive (the store writes a temporary name and renames it at commit), so neither
memory nor a spool file ever holds the whole upload. Every other part (`metadata`
and any small field) is kept in memory, at most `FIELD_LIMIT` bytes each.

The blob is committed only once the whole body has been parsed and checked, so a
failure leaves nothing behind. Errors are domain errors:

- `TooLarge` (413): the `file` part exceeds `limit`, or another part `FIELD_LIMIT`;
- `InvalidInput` (400): not multipart/form-data, malformed or truncated body,
  no `file` part, or a `metadata` part that is not a JSON object (the message names
  the part or header).

It accepts what the official client sends: boundary `--mindsphere` (delimiter lines
`----mindsphere`), a leading `\\n` before the first delimiter, no CRLF after the closing
delimiter, and a trailing CRLF inside the `metadata` part.

If storing the upload's record fails after the blob was written, `discard_on_error()`
(or `discard()`) deletes the blob.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from jobmanager.common.chunks import CHUNK_SIZE
from jobmanager.domain.errors import InvalidInput, TooLarge
from jobmanager.store.blobs import BlobStore, BlobTooLarge
from jobmanager.store.contents import HashingWriter, NewContent

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

FILE_PART = "file"
METADATA_PART = "metadata"
FIELD_LIMIT = 1024 * 1024  # each non-file part
MAX_PARTS = 16


def streams_upload(endpoint: Endpoint) -> Endpoint:
    """Mark a route that reads its body with `read_multipart`: its limit is the upload
    limit, so the JSON body limit (`api/body_limit.py`) leaves it alone."""
    endpoint.streams_upload = True  # type: ignore[attr-defined]
    return endpoint


def is_upload_endpoint(endpoint: object) -> bool:
    """Whether `endpoint` (a route's function, or None) is marked `@streams_upload`."""
    return bool(getattr(endpoint, "streams_upload", False))


@dataclass
class MultipartUpload:
    """A parsed upload whose `file` part is stored as the blob `blob_key`."""

    blobs: BlobStore
    blob_key: str
    size: int
    sha256: str
    filename: str
    content_type: str
    metadata: dict[str, Any] | None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def content(self) -> NewContent:
        """The stored part as a content for a Data Exchange file (`store/contents.py`)."""
        return NewContent(self.blob_key, self.size, self.sha256)

    def discard(self) -> None:
        """Delete the blob (the record that would have pointed to it was not stored)."""
        self.blobs.delete(self.blob_key)

    @contextmanager
    def discard_on_error(self) -> Iterator[MultipartUpload]:
        """Run the block that stores the record; if it raises, delete the blob and re-raise."""
        try:
            yield self
        except BaseException:
            self.discard()
            raise


async def read_multipart(request: Request, blobs: BlobStore, limit: int) -> MultipartUpload:
    """Stream the request's multipart body: `file` into a new blob, the rest parsed."""
    boundary = _boundary(request.headers.get("content-type", ""))
    collector = _Collector(blobs, limit, boundary)
    try:
        # Request chunks are gathered up to CHUNK_SIZE bytes before one trip to a worker thread
        # parses them and writes the file data, so the event loop never blocks on disk I/O.
        batch = bytearray()
        async for chunk in request.stream():
            batch += chunk
            if len(batch) >= CHUNK_SIZE:
                await run_in_threadpool(collector.feed, bytes(batch))
                batch.clear()
        if batch:
            await run_in_threadpool(collector.feed, bytes(batch))
        return await run_in_threadpool(collector.finish)
    except ClientDisconnect as error:
        raise InvalidInput("the client closed the connection during the upload") from error
    finally:
        collector.abort()


def _boundary(content_type: str) -> bytes:
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise InvalidInput("Content-Type must be multipart/form-data with a boundary")
    boundary = options.get(b"boundary", b"")
    if not boundary or len(boundary) > 200:
        raise InvalidInput("Content-Type multipart/form-data needs a boundary (1-200 chars)")
    return boundary


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    filename: str = ""
    content_type: str = ""
    data: bytearray = field(default_factory=bytearray)


class _Collector:
    """Parser callbacks: the `file` part's data to a blob writer, other parts to memory."""

    def __init__(self, blobs: BlobStore, limit: int, boundary: bytes) -> None:
        self.blobs = blobs
        self.limit = limit
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )
        self.part = _Part()
        self.field_name = bytearray()
        self.field_value = bytearray()
        self.parts_seen = 0
        self.fields: dict[str, bytes] = {}
        self.file: _Part | None = None
        self.key = ""
        self.writer: HashingWriter | None = None
        self.ended = False

    # -- driving the parser ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.ended:
            return  # an epilogue after the closing delimiter is ignored
        try:
            self.parser.write(data)
        except MultipartParseError as error:
            raise InvalidInput(f"malformed multipart body: {error}") from error
        except BlobTooLarge as error:
            raise TooLarge(f"part 'file' is larger than {self.limit} bytes") from error

    def finish(self) -> MultipartUpload:
        if not self.ended:
            raise InvalidInput("malformed multipart body: it ends before the closing delimiter")
        if self.file is None or self.writer is None:
            raise InvalidInput("multipart part 'file' is missing")
        metadata = _metadata(self.fields.pop(METADATA_PART, None))
        fields = {name: _text(name, value) for name, value in self.fields.items()}
        self.writer.commit()
        stored, self.writer = self.writer.content(), None
        return MultipartUpload(
            blobs=self.blobs,
            blob_key=self.key,
            size=stored.size,
            sha256=stored.sha256,
            filename=self.file.filename,
            content_type=self.file.content_type or "application/octet-stream",
            metadata=metadata,
            fields=fields,
        )

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None

    # -- callbacks ---------------------------------------------------------------------

    def _part_begin(self) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_PARTS:
            raise InvalidInput(f"multipart body has more than {MAX_PARTS} parts")
        self.part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.field_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.field_value += data[start:end]

    def _header_end(self) -> None:
        name = self.field_name.decode("latin-1").strip().lower()
        self.part.headers[name] = _header_text(bytes(self.field_value)).strip()
        self.field_name.clear()
        self.field_value.clear()

    def _headers_finished(self) -> None:
        part = self.part
        # As UTF-8 bytes: given text, the parser encodes it to Latin-1, which fails on a
        # name outside it.
        raw = part.headers.get("content-disposition", "").encode("utf-8")
        disposition, options = parse_options_header(raw)
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidInput(f"multipart part {self.parts_seen} has no form-data name")
        part.name = _option(options[b"name"])
        part.filename = _option(options.get(b"filename", b""))
        if any(unicodedata.category(char) == "Cc" for char in part.filename):
            raise InvalidInput(
                f"multipart part {part.name!r}: the filename must not hold control characters"
            )
        part.content_type = _option(part.headers.get("content-type", "").encode("utf-8"))
        if part.name == FILE_PART:
            if self.file is not None:
                raise InvalidInput("multipart part 'file' is given twice")
            self.file = part
            self.key = self.blobs.new_key()
            self.writer = HashingWriter(self.key, self.blobs.writer(self.key, self.limit))
        elif part.name == METADATA_PART and part.name in self.fields:
            raise InvalidInput(f"multipart part {part.name!r} is given twice")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part is self.file:
            assert self.writer is not None
            self.writer.write(memoryview(data)[start:end])
            return
        self.part.data += data[start:end]
        if len(self.part.data) > FIELD_LIMIT:
            raise TooLarge(f"multipart part {self.part.name!r} is larger than {FIELD_LIMIT} bytes")

    def _part_end(self) -> None:
        if self.part is not self.file:
            self.fields[self.part.name] = bytes(self.part.data)

    def _end(self) -> None:
        self.ended = True


def _option(raw: bytes) -> str:
    """An option's bytes (UTF-8, as `_headers_finished` hands them over) as text."""
    return raw.decode("utf-8", "replace")


def _metadata(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise InvalidInput(f"multipart part 'metadata' is not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise InvalidInput("multipart part 'metadata' must be a JSON object")
    return document


def _text(name: str, value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"multipart part {name!r} is not UTF-8 text") from error


def _header_text(raw: bytes) -> str:
    """A header's text: UTF-8, as browsers send it, else Latin-1 (HTTP's old default), so
    that two different names never read as the same replaced text."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
