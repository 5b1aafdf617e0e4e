"""Sign-in and sign-out. Signing in opens the API's browser session (`POST /session`'s
cookies, made by the same code); the sign-in form carries an XSRF token too, from a
cookie this page sets, so another site cannot sign a browser in. The session lives
while it is used and ends after `session_idle_seconds` without use (`api/deps.py`)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from jobmanager.api.deps import XSRF_COOKIE, ServicesDep, SettingsDep
from jobmanager.api.routes.auth import clear_session_cookies, issue_token, set_session_cookies
from jobmanager.common.home import dev_credentials_file
from jobmanager.console.routing import SIGN_IN_PATH, XSRF_CHECKED, ConsoleRoute, page
from jobmanager.domain.errors import Unauthenticated

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)


def local_path(target: str) -> str:
    """Where to go after signing in: a path of this site, never another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/jobs"
    return target


def sign_in_page(
    request: Request, settings: SettingsDep, next: str, message: str = "", client_id: str = ""
) -> Response:
    token = request.cookies.get(XSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "signin.html",
        401 if message else 200,
        xsrf_token=token,
        next=local_path(next),
        message=message,
        client_id=client_id,
        credentials_file=dev_credentials_file(settings.home),
    )
    if XSRF_COOKIE not in request.cookies:
        response.set_cookie(XSRF_COOKIE, token, samesite="lax")
    return response


@router.get(SIGN_IN_PATH, response_class=HTMLResponse)
def sign_in_form(request: Request, settings: SettingsDep, next: str = "/jobs") -> Response:
    return sign_in_page(request, settings, next)


@router.post(SIGN_IN_PATH, dependencies=XSRF_CHECKED, response_class=HTMLResponse)
def sign_in(
    request: Request,
    services: ServicesDep,
    client_id: Annotated[str, Form(max_length=200)],
    client_secret: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "/jobs",
) -> Response:
    try:
        issued = issue_token(request, client_id.strip(), client_secret, session=True)
    except Unauthenticated:
        message = "That client id and secret do not match an active client."
        return sign_in_page(request, services.settings, next, message, client_id)
    response = RedirectResponse(local_path(next), status_code=303)
    set_session_cookies(response, request, issued, services.settings.session_idle_seconds)
    return response


@router.post("/signout", dependencies=XSRF_CHECKED)
def sign_out() -> Response:
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    clear_session_cookies(response)
    return response
