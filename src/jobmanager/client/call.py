"""A call described once, run by the sync or the async client.

Each API call is a function that returns a `Call`: method, path, body and how to
read the answer. `Client` and `AsyncClient` both execute the same `Call`s, so
every endpoint is written once; `Endpoint` and `Pages` turn such a function into a
method of either client with the right return type (`T` or `Awaitable[T]`).

Bodies are streamed both ways: an upload reads its file in chunks (`Upload`), a
download writes chunks into a `Sink` as they arrive.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, ParamSpec, Protocol, TypeVar, overload

import httpx
from pydantic import TypeAdapter

from jobmanager.client.types import ListPage, Page

T = TypeVar("T")
P = ParamSpec("P")
ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just sent or received."""


def parse_as(kind: Any) -> Callable[[httpx.Response], Any]:
    """A reader of a JSON answer into `kind` (a model class or any type pydantic knows)."""
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    return lambda response: adapter.validate_python(response.json())


def parse_page(kind: Any, key: str | tuple[str, ...]) -> Callable[[httpx.Response], Any]:
    """A reader of a list envelope `{<key>: [...], page: {...}}` into a `ListPage`."""
    adapter: TypeAdapter[Any] = TypeAdapter(list[kind])
    keys = (key,) if isinstance(key, str) else key

    def parse(response: httpx.Response) -> ListPage[Any]:
        body = response.json()
        items = [item for name in keys for item in adapter.validate_python(body.get(name) or [])]
        return ListPage(items=items, page=Page.model_validate(body.get("page") or {}))

    return parse


def no_content(_response: httpx.Response) -> None:
    return None


@dataclass
class Upload:
    """A file part read in chunks, reporting bytes as httpx reads them."""

    source: IO[bytes]
    filename: str
    content_type: str = "application/octet-stream"
    progress: ProgressCallback | None = None
    close: bool = False
    start: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        # Where the content begins: every attempt (a retry after a 401) reads from here.
        self.start = self.source.tell() if self.source.seekable() else 0

    @classmethod
    def of(
        cls,
        source: str | os.PathLike[str] | IO[bytes],
        filename: str | None,
        progress: ProgressCallback | None,
    ) -> Upload:
        """From a path (opened here, closed after the call) or an open binary file."""
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            return cls(path.open("rb"), filename or path.name, progress=progress, close=True)
        name = filename or Path(str(getattr(source, "name", "upload"))).name
        return cls(source, name, progress=progress)

    def part(self) -> tuple[str, Any, str]:
        reader = _CountingReader(self.source, self.start, self.progress)
        return (self.filename, reader, self.content_type)

    def done(self) -> None:
        if self.close:
            self.source.close()


class _CountingReader:
    """Wraps a binary file so httpx can size it, rewind it for a retry, and count reads."""

    def __init__(self, source: IO[bytes], start: int, progress: ProgressCallback | None) -> None:
        self._source = source
        self._start = start
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if self._progress is not None and chunk:
            self._progress(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == os.SEEK_SET:
            offset += self._start
        return self._source.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._source.tell() - self._start


class Sink:
    """Where a download goes: a path (written under a temporary name, renamed at the end)
    or an open binary file. Counts the bytes and reports them."""

    def __init__(
        self, target: str | os.PathLike[str] | IO[bytes], progress: ProgressCallback | None
    ) -> None:
        self._target = target
        self._progress = progress
        self._handle: IO[bytes] | None = None
        self._temporary: Path | None = None
        self.size = 0

    def open(self) -> None:
        if isinstance(self._target, str | os.PathLike):
            path = Path(self._target)
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            self._temporary = Path(name)
            self._handle = os.fdopen(descriptor, "wb")
        else:
            self._handle = self._target

    def write(self, chunk: bytes) -> None:
        assert self._handle is not None
        self._handle.write(chunk)
        self.size += len(chunk)
        if self._progress is not None:
            self._progress(len(chunk))

    def commit(self) -> None:
        if self._temporary is not None and self._handle is not None:
            self._handle.close()
            os.replace(self._temporary, Path(self._target))  # type: ignore[arg-type]
            self._temporary = None

    def abort(self) -> None:
        if self._temporary is not None and self._handle is not None:
            self._handle.close()
            self._temporary.unlink(missing_ok=True)
            self._temporary = None


@dataclass
class Call(Generic[T]):
    """One HTTP exchange: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    data: Mapping[str, str] | None = None
    upload: Upload | None = None
    metadata: Any = None
    sink: Sink | None = None
    authenticated: bool = True

    def request_args(self) -> dict[str, Any]:
        """Keyword arguments for `httpx.Client.build_request` (and its async twin)."""
        args: dict[str, Any] = {"params": self.params, "headers": self.headers}
        if self.upload is not None:
            args["files"] = {"file": self.upload.part()}
            if self.metadata is not None:
                args["data"] = {"metadata": _json_text(self.metadata)}
        elif self.data is not None:
            args["data"] = self.data
        elif self.json is not None:
            # Python's JSON text, whose NaN and infinities the service reads (parameters
            # may be such numbers; httpx's `json=` refuses them).
            args["content"] = _json_text(self.json).encode()
            args["headers"] = {"Content-Type": "application/json", **self.headers}
        elif self.method == "POST":
            # Empty-bodied POSTs (stop, start) say JSON, as the official client does.
            args["headers"] = {"Content-Type": "application/json", **self.headers}
        return args


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class BlockingClient(Protocol):
    """What `Endpoint` and `Pages` use of `Client`: results as they come."""

    def execute(self, call: Call[T]) -> T: ...

    def iterate(self, page: Callable[[int], Call[ListPage[T]]]) -> Iterator[T]: ...


class AwaitingClient(Protocol):
    """What `Endpoint` and `Pages` use of `AsyncClient`: awaitables."""

    def execute(self, call: Call[T]) -> Awaitable[T]: ...

    def iterate(self, page: Callable[[int], Call[ListPage[T]]]) -> AsyncIterator[T]: ...


class Endpoint(Generic[P, T]):
    """Makes a `Call` builder a method: `T` on `Client`, `Awaitable[T]` on `AsyncClient`."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type) -> Endpoint[P, T]: ...
    @overload
    def __get__(self, client: BlockingClient, owner: type) -> Callable[P, T]: ...
    @overload
    def __get__(self, client: AwaitingClient, owner: type) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build = self.build

        def method(*args: Any, **kwargs: Any) -> Any:
            return client.execute(build(*args, **kwargs))

        method.__doc__ = self.__doc__
        return method


class Pages(Generic[P, T]):
    """Makes a page builder an iterator over every item of every page."""

    def __init__(self, build: Callable[P, Call[ListPage[T]]]) -> None:
        self.build = build
        self.__doc__ = f"Every item, page after page. {build.__doc__ or ''}"

    @overload
    def __get__(self, client: None, owner: type) -> Pages[P, T]: ...
    @overload
    def __get__(self, client: BlockingClient, owner: type) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, client: AwaitingClient, owner: type) -> Callable[P, AsyncIterator[T]]: ...

    def __get__(self, client: Any, owner: type) -> Any:
        if client is None:
            return self
        build = self.build

        def method(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("page_number", None)
            return client.iterate(lambda number: build(*args, page_number=number, **kwargs))

        method.__doc__ = self.__doc__
        return method
