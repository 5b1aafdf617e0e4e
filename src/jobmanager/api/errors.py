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
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from jobmanager.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from jobmanager.logs import add_log_fields

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
    500: "jobmanager.internalError",
    503: "jobmanager.serviceUnavailable",
}
# The status of each kind of domain error (a kind not listed answers 400).
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unavailable: 503,
}


class ErrorPublic(BaseModel):
    code: str
    logref: str
    message: str


class ErrorsPublic(BaseModel):
    """The body of every error answer."""

    errors: list[ErrorPublic]


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    logref = uuid.uuid4().hex
    add_log_fields(logref=logref)
    level = logging.ERROR if status >= 500 else logging.INFO
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
    app.add_exception_handler(Exception, _unexpected_error)


async def _domain_error(request: Request, error: DomainError) -> JSONResponse:
    status = next((s for kind, s in STATUS_OF.items() if isinstance(error, kind)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(request, status, CODE_OF_STATUS[status], error.message, headers)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    status = error.status_code
    if status == 404:
        message = f"no such resource: {request.method} {request.url.path}"
    elif status == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(error.detail)
    code = CODE_OF_STATUS.get(status, "jobmanager.error")
    return error_response(request, status, code, message, dict(error.headers or {}))


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    message = "; ".join(describe_validation_error(item) for item in error.errors())
    return error_response(request, 400, CODE_OF_STATUS[400], message or "invalid request")


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    message = "internal error; quote the logref to the operator"
    return error_response(request, 500, CODE_OF_STATUS[500], message)


def describe_validation_error(item: Mapping[str, Any]) -> str:
    """One readable sentence from a pydantic error: which field, what is wrong."""
    if item.get("type") == "json_invalid":
        return f"the body is not valid JSON ({item.get('ctx', {}).get('error', 'parse error')})"
    location = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location)
    message = str(item.get("msg", "invalid value"))
    return f"{field}: {message}" if field else message
