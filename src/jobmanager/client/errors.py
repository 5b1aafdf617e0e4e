"""What a call can raise: one `ApiError` subclass per HTTP status, and `ServerUnavailable`.

Every error the service answers has the body `{"errors": [{code, logref, message}]}`;
the exception carries the first entry's fields and the HTTP status, so a caller can
show the message and quote the `logref` to an operator.
"""

from __future__ import annotations

from typing import Any

import httpx


class JobmanagerError(Exception):
    """Base of everything this client raises."""


class ServerUnavailable(JobmanagerError):
    """The server could not be reached, or the connection broke before an answer."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the jobmanager server at {url} ({reason})")
        self.url = url
        self.reason = reason


class UnexpectedAnswer(JobmanagerError):
    """The server answered, but not as the jobmanager API does (a wrong URL, a proxy page)."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        super().__init__(
            f"the answer from {url} (HTTP {status}) is not what the jobmanager API sends: {reason}"
        )
        self.url = url
        self.status = status
        self.reason = reason


class ApiError(JobmanagerError):
    """The server answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        logref: str = "",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.logref = logref
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status}, code {self.code}, logref {self.logref})"


class BadRequestError(ApiError):
    """400: the request was malformed; the message names the field."""


class AuthError(ApiError):
    """401: no credentials, a bad client id or secret, or an expired token."""


class ForbiddenError(ApiError):
    """403: authenticated, but not allowed to do this."""


class NotFoundError(ApiError):
    """404: unknown, or belonging to another tenant."""


class ConflictError(ApiError):
    """409: the request clashes with the current state (e.g. a name already taken)."""


class TooLargeError(ApiError):
    """413: the body exceeds the server's size limit."""


class ServerError(ApiError):
    """5xx: the server failed; quote the logref to its operator."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
}


def error_from_response(response: httpx.Response, body: bytes) -> ApiError:
    """The exception for an error answer whose (already read) body is `body`."""
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    code, logref, message = _first_error(body)
    return kind(
        status,
        code or f"http.{status}",
        message or _fallback_message(response, body),
        logref,
        response.request.method,
        str(response.request.url),
    )


def _first_error(body: bytes) -> tuple[str, str, str]:
    try:
        document: Any = httpx.Response(200, content=body).json()
    except ValueError:
        return "", "", ""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "", "", ""
    first = errors[0]
    return str(first.get("code", "")), str(first.get("logref", "")), str(first.get("message", ""))


def _fallback_message(response: httpx.Response, body: bytes) -> str:
    text = body[:200].decode(errors="replace").strip()
    reason = response.reason_phrase or "error"
    return f"{reason}: {text}" if text else reason
