"""What every console page shares: templates, the signed-in caller, the XSRF check, and
errors shown as pages in words.

The console reads and writes through the API's dependencies (`api/deps.py`) and the
store's repositories, under the same rules. Its routes use `ConsoleRoute`, which turns
what the API answers as JSON errors into HTML: a domain error or bad input becomes the
error page (or, for an htmx request, a message in the page's flash area), and a request
without a valid session becomes a redirect to the sign-in page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import URL

from jobmanager.api.deps import (
    SAFE_METHODS,
    XSRF_COOKIE,
    XSRF_HEADER,
    Caller,
    ServicesDep,
    session_caller,
    xsrf_matches,
)
from jobmanager.api.errors import describe_validation_error, status_of
from jobmanager.console import views
from jobmanager.domain.errors import DomainError, Forbidden, Unauthenticated

log = logging.getLogger("jobmanager.console")

XSRF_FIELD = "xsrf_token"
SIGN_IN_PATH = "/signin"
NAVIGATION = (
    ("Jobs", "/jobs"),
    ("Submit", "/submit"),
    ("Models", "/models"),
    ("Data", "/data"),
    ("Configurations", "/configurations"),
    ("Schedules", "/schedules"),
)


def _templates() -> Jinja2Templates:
    folder = str(resources.files("jobmanager.console") / "templates")
    environment = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(views.FILTERS)
    environment.globals["navigation"] = NAVIGATION
    return Jinja2Templates(env=environment)


templates = _templates()


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A template rendered with what every page needs: the request, its XSRF token."""
    context.setdefault("xsrf_token", request.cookies.get(XSRF_COOKIE, ""))
    return templates.TemplateResponse(request, name, context, status_code=status_code)


class SignInNeeded(Exception):
    """The request has no valid session: the answer is the sign-in page."""


def console_caller(request: Request, services: ServicesDep) -> Caller:
    """The signed-in caller, from the session cookie only (no bearer tokens here); the
    session is renewed while it is used and ends when idle (`api/deps.session_caller`)."""
    try:
        return session_caller(request, services)
    except Unauthenticated:
        raise SignInNeeded from None


async def check_xsrf(request: Request) -> None:
    """A request that changes state carries the XSRF token: the header htmx sends, or a
    form's hidden field. Either must equal the cookie (the API's double-submit check)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(XSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(XSRF_FIELD)
        sent = field if isinstance(field, str) else ""
    if not xsrf_matches(request, sent):
        raise Forbidden("the form was sent without its security token: reload the page and retry")


ConsoleCaller = Annotated[Caller, Depends(console_caller)]
XSRF_CHECKED = [Depends(check_xsrf)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """Go to `url`: htmx follows `HX-Redirect`, a plain form the 303."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    """An error in words. The logref ties it to the server's log line, as the API's do."""
    logref = uuid.uuid4().hex
    log.info("console error status=%s logref=%s path=%s: %s", status, logref, request.url, message)
    if is_htmx(request):  # shown in the page's flash area, the page stays
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML show:#flash:top"}
        response = page(request, "flash.html", status, message=message, logref=logref)
        response.headers.update(headers)
        return response
    return page(request, "error.html", status, status=status, message=message, logref=logref)


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A console route: errors are pages in words, a missing session the sign-in page."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return redirect(request, f"{SIGN_IN_PATH}?next={quote(_back_to(request))}")
            except DomainError as error:
                return error_page(request, status_of(error), error.message)
            except RequestValidationError as error:
                words = "; ".join(describe_validation_error(item) for item in error.errors())
                return error_page(request, 400, words or "the form is not complete")

        return handle


def _back_to(request: Request) -> str:
    """Where sign-in leads back to: this page, or for a fragment or a form, the page
    that asked for it (a path of this site only)."""
    if request.method == "GET" and not is_htmx(request):
        url = request.url
    else:
        url = URL(request.headers.get("hx-current-url", "/jobs"))
    return url.path + (f"?{url.query}" if url.query else "")
