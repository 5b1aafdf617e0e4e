"""Bounded request bodies: a body that is not a multipart upload (JSON, forms) is at most
`max_json_bytes` (settings), answered 413 in the SPEC's error format before anything
parses it.

The middleware watches what the route reads: a declared `Content-Length` over the limit
is refused at the first read, without reading anything; a body without one is read up to
the limit and refused as soon as it goes beyond, so memory never holds more than the
limit. Upload routes (`@streams_upload`) stream their multipart body to blobs with their
own limit (`api/multipart.py`, `max_upload_bytes`): the route is known once the request
is routed, which is before any body is read. After the answer, uvicorn reads and
discards what is left of the body, so a client that sends it all before reading still
gets the 413.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobmanager.api.multipart import is_upload_endpoint


class BodyTooLarge(HTTPException):
    """Raised while a route reads its body; an HTTPException, so that FastAPI's body
    parsing lets it through to the error handler (413)."""

    def __init__(self, size: str, limit: int) -> None:
        super().__init__(
            413,
            f"the request body is {size}; at most {limit} bytes (JOBMANAGER_MAX_JSON_BYTES); "
            "files go as multipart uploads",
        )


class BodyLimit:
    """ASGI middleware: a route other than an upload route that reads more than `limit`
    bytes of body answers 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _LimitedReceive(scope, receive, self.limit), send)


class _LimitedReceive:
    """The request's `receive`, counting the body bytes a route reads."""

    def __init__(self, scope: Scope, receive: Receive, limit: int) -> None:
        self.scope = scope
        self.receive = receive
        self.limit = limit
        self.received = 0

    async def __call__(self) -> Message:
        if is_upload_endpoint(self.scope.get("endpoint")):
            return await self.receive()
        declared = _content_length(self.scope)
        if declared is not None and declared > self.limit:
            raise BodyTooLarge(f"declared as {declared} bytes", self.limit)
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise BodyTooLarge(f"more than {self.limit} bytes", self.limit)
        return message


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key.lower() == b"content-length":
            text = bytes(value).strip()
            return int(text) if text.isdigit() else None
    return None
