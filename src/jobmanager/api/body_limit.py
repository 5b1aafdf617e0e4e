"""Bounded request bodies: every body but a multipart upload (JSON, forms) is at most
`max_json_bytes` (settings), answered 413 in the SPEC's error format before anything
parses it.

A declared `Content-Length` over the limit is refused without reading the body. A body
without one is read up to the limit, then refused as soon as it goes beyond, so memory
never holds more than the limit. Multipart uploads stream to blobs with their own limit
(`api/multipart.py`, `max_upload_bytes`). After the answer, uvicorn reads and discards
what is left of the body, so a client that sends it all before reading still gets the 413.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobmanager.api.errors import CODE_OF_STATUS, ErrorsPublic, error_response

MULTIPART = b"multipart/form-data"
# Any operation answers this to a body over the limit: the OpenAPI document says so.
TOO_LARGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    413: {
        "description": "The request body is larger than JOBMANAGER_MAX_JSON_BYTES "
        "(multipart uploads: JOBMANAGER_MAX_UPLOAD_BYTES)",
        "model": ErrorsPublic,
    }
}


class BodyLimit:
    """ASGI middleware: a larger body than `limit` bytes answers 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, send, f"declared as {declared} bytes")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(scope, send, f"more than {self.limit} bytes")
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, send: Send, size: str) -> None:
        message = (
            f"the request body is {size}; at most {self.limit} bytes "
            "(JOBMANAGER_MAX_JSON_BYTES); files go as multipart uploads"
        )
        response = error_response(Request(scope), 413, CODE_OF_STATUS[413], message)
        await response(scope, _no_body, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read ahead once, then the client's own messages
    (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def _is_multipart(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type") or b""
    return content_type.split(b";", 1)[0].strip().lower() == MULTIPART


def _content_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)
