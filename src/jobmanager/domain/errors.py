"""Domain exceptions. The API maps each kind to one HTTP status and code, in one table
(`api/errors.py`)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller may see; `message` is safe to show them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The request is malformed or names something it may not (HTTP 400)."""


class Unauthenticated(DomainError):
    """No credentials, or credentials that do not verify (HTTP 401)."""


class Forbidden(DomainError):
    """Authenticated, but not allowed to do this (HTTP 403)."""


class NotFound(DomainError):
    """Unknown, or belonging to another tenant: the two are never told apart (HTTP 404)."""

    def __init__(self, kind: str, identifier: str) -> None:
        super().__init__(f"{kind} {identifier!r} not found")
        self.kind = kind
        self.identifier = identifier


class Conflict(DomainError):
    """The request clashes with the current state (HTTP 409)."""


class TooLarge(DomainError):
    """The body exceeds a configured size limit (HTTP 413)."""


class TooManyAttempts(DomainError):
    """Too many failed attempts from this caller; it may try again after `retry_after`
    seconds (HTTP 429 with `Retry-After`)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the service needs does not answer: the database, the blob store (HTTP 503)."""


class DiskFull(DomainError):
    """A disk the service writes to is full (HTTP 507): nothing of the request was kept."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"No space left on {where}: nothing of this request was kept. Delete files or "
            "folders to make room, or ask the operator for more space"
        )
        self.where = where
