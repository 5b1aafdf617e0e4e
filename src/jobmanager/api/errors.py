"""Every error leaves the service in one format: `{"errors": [{code, logref, message}]}`.

Each answer's `logref` is also written to the server's log line for it, so an
operator can find what a caller reports. No stack trace ever reaches a caller.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from jobmanager.common.logs import add_log_fields
from jobmanager.domain.errors import (
    Conflict,
    DiskFull,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
)
from jobmanager.store.outages import database_away
from jobmanager.store.space import DiskSpace

log = logging.getLogger("jobmanager.api")

# The one table of error codes: every error answer's `code` is its status's.
CODE_OF_STATUS = {
    400: "jobmanager.badRequest",
    401: "jobmanager.unauthorized",
    403: "jobmanager.forbidden",
    404: "jobmanager.notFound",
    405: "jobmanager.methodNotAllowed",
    409: "jobmanager.conflict",
    413: "jobmanager.payloadTooLarge",
    415: "jobmanager.unsupportedMediaType",
    429: "jobmanager.tooManyRequests",
    500: "jobmanager.internalError",
    503: "jobmanager.serviceUnavailable",
    507: "jobmanager.insufficientStorage",
}
# What each error status means, as the OpenAPI document says it.
MEANING_OF_STATUS = {
    400: "Bad input: the message names the parameter or field and what is wrong",
    401: "No credentials, or bad or expired ones",
    403: "Not allowed (a session call that changes state without its XSRF header)",
    404: "No such resource, or one of another tenant",
    405: "The path does not serve this method; `Allow` lists those it serves",
    409: "A conflict with the resource's state (e.g. a name taken, a model in use)",
    413: "The request body is larger than the service takes (JOBMANAGER_MAX_JSON_BYTES; "
    "multipart uploads: JOBMANAGER_MAX_UPLOAD_BYTES)",
    415: "The request's content type is not one this call reads",
    429: "Too many failed sign-ins from this address (JOBMANAGER_SIGN_IN_*); "
    "`Retry-After` says in how many seconds to try again",
    500: "An error of the service; quote the logref to the operator",
    503: "Not ready: the message names what does not answer (database, blob store)",
    507: "A disk the service writes to is full (the message names it): nothing of the "
    "request was kept; deleting files and folders, stopping jobs and reading still work",
}


class ErrorDetail(BaseModel):
    code: str
    logref: str
    message: str


class ErrorAnswer(BaseModel):
    """The body of every error answer."""

    errors: list[ErrorDetail]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route that can answer these error statuses."""
    return {
        status: {"model": ErrorAnswer, "description": MEANING_OF_STATUS[status]}
        for status in statuses
    }


# The status of each kind of domain error (a kind not listed answers 400).
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    TooManyAttempts: 429,
    Unavailable: 503,
    DiskFull: 507,
}


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    logref = uuid.uuid4().hex
    add_log_fields(logref=logref)
    # A full disk is the caller's to resolve too (delete files); the disk's state is
    # logged once as it fills (store/space.py).
    level = logging.ERROR if status >= 500 and status != 507 else logging.INFO
    log.log(
        level,
        "error status=%s code=%s logref=%s method=%s path=%s message=%s",
        status,
        code,
        logref,
        request.method,
        request.url.path,
        message,
        extra={"logref": logref},  # for a JSON line outside the request's scope (a 500)
    )
    body = {"errors": [{"code": code, "logref": logref, "message": message}]}
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    # A storage's errors are answered here rather than by the last resort (`Exception`),
    # whose answer Starlette raises again for the server to log with its traceback: a full
    # disk (507) or a database away (503) is then said in one line, not a traceback each.
    for storage_error in (OSError, DBAPIError):
        app.add_exception_handler(storage_error, _unexpected_error)
    app.add_exception_handler(Exception, _unexpected_error)


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error (the API's and the console's)."""
    return next((s for kind, s in STATUS_OF.items() if isinstance(error, kind)), 400)


async def _domain_error(request: Request, error: DomainError) -> JSONResponse:
    status = status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(error, TooManyAttempts):
        headers["Retry-After"] = str(error.retry_after)
    return error_response(request, status, CODE_OF_STATUS[status], error.message, headers)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    status = error.status_code
    headers = dict(error.headers or {})
    if status == 404:
        message = f"no such resource: {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
        headers["Allow"] = ", ".join(allowed_methods(request))
    else:
        message = str(error.detail)
    code = CODE_OF_STATUS.get(status, "jobmanager.error")
    return error_response(request, status, code, message, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path. Starlette names only those
    of the first route whose path matched, and a path may have several routes (one per
    method)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and compile_path(route.path)[0].match(request.scope["path"]):
            methods |= route.methods or set()
    return sorted(methods)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    message = "; ".join(describe_validation_error(item) for item in error.errors())
    return error_response(request, 400, CODE_OF_STATUS[400], message or "invalid request")


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    full = _disk_full(request, error)
    if full is not None:  # a write met a full disk: rolled back, or its blob discarded
        return await _domain_error(request, full)
    if database_away(error):  # a restart or a failover: say so, and when to come back
        log.warning(
            "the database does not answer on %s %s: %s", request.method, request.url.path, error
        )
        message = "the database does not answer (restarting?); try again in a few seconds"
        return error_response(request, 503, CODE_OF_STATUS[503], message, {"Retry-After": "5"})
    if _holds_nul(error):  # SQLite stores it; PostgreSQL's text refuses it before the query
        message = "the request holds a NUL character (0x00), which no id, name or text may hold"
        return error_response(request, 400, CODE_OF_STATUS[400], message)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    message = "internal error; quote the logref to the operator"
    return error_response(request, 500, CODE_OF_STATUS[500], message)


def _holds_nul(error: Exception) -> bool:
    """Whether the database refused a value for its NUL character (psycopg's words)."""
    return isinstance(error, DBAPIError) and "NUL (0x00)" in str(error.orig)


def _disk_full(request: Request, error: Exception) -> DiskFull | None:
    """`error` as the DiskFull naming the storage that is full; None for another error."""
    services = getattr(request.app.state, "services", None)
    space = services.store.space if services is not None else DiskSpace([])
    return space.disk_full(error)


def describe_validation_error(item: Mapping[str, Any]) -> str:
    """One readable sentence from a pydantic error: which field, what is wrong."""
    if item.get("type") == "json_invalid":
        return f"the body is not valid JSON ({item.get('ctx', {}).get('error', 'parse error')})"
    location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location)
    message = str(item.get("msg", "invalid value"))
    return f"{field}: {message}" if field else message
