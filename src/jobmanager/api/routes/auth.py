"""Token endpoints (SPEC §5): client credentials, the technical token manager, the public keys."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request, Response
from pydantic import BaseModel, ConfigDict

from jobmanager.api.deps import SESSION_COOKIE, XSRF_COOKIE, ServicesDep
from jobmanager.api.errors import error_responses
from jobmanager.api.sign_in import SignInGuard, caller_address
from jobmanager.auth.tokens import IssuedToken, Principal
from jobmanager.domain.errors import InvalidInput, Unauthenticated
from jobmanager.startup.services import Services

router = APIRouter(tags=["auth"])
CLIENT_CREDENTIALS = "client_credentials"


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    scope: str


class TechnicalTokenRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    appName: str = ""
    appVersion: str = ""
    hostTenant: str = ""
    userTenant: str = ""


@router.post(
    "/oauth/token", response_model=TokenPublic, responses=error_responses(400, 401, 413, 429)
)
def client_credentials_token(
    request: Request,
    grant_type: Annotated[str, Form(json_schema_extra={"enum": [CLIENT_CREDENTIALS]})],
    authorization: Annotated[str | None, Header()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
) -> TokenPublic:
    if grant_type != CLIENT_CREDENTIALS:
        raise InvalidInput(f"grant_type must be {CLIENT_CREDENTIALS!r}")
    if authorization is not None:
        client_id, client_secret = _basic_credentials(authorization)
    if not client_id or client_secret is None:
        raise Unauthenticated("send the client id and secret with HTTP Basic")
    return _token_answer(issue_token(request, client_id, client_secret))


@router.post(
    "/api/technicaltokenmanager/v3/oauth/token",
    response_model=TokenPublic,
    responses=error_responses(400, 401, 413, 429),
)
def technical_token(
    request: Request,
    body: TechnicalTokenRequest,
    x_space_auth_key: Annotated[str | None, Header()] = None,
) -> TokenPublic:
    if x_space_auth_key is None:
        raise Unauthenticated("send the X-SPACE-AUTH-KEY header: 'Basic <base64 id:secret>'")
    client_id, client_secret = _basic_credentials(x_space_auth_key)
    return _token_answer(issue_token(request, client_id, client_secret))


@router.get("/token_keys")
def token_keys(services: ServicesDep) -> dict[str, list[dict[str, Any]]]:
    return {"keys": [key.public_entry() for key in services.tokens.keys.keys]}


@router.post("/session", status_code=204, responses=error_responses(401, 429))
def open_session(
    request: Request, services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """A browser session (the console's sign-in opens the same one)."""
    if authorization is None:
        raise Unauthenticated("send the client id and secret with HTTP Basic")
    issued = issue_token(request, *_basic_credentials(authorization), session=True)
    response = Response(status_code=204)
    set_session_cookies(response, request, issued, services.settings.session_idle_seconds)
    return response


def set_session_cookies(
    response: Response,
    request: Request,
    issued: IssuedToken,
    idle_seconds: int,
    xsrf: str | None = None,
) -> None:
    """The session's token in an HttpOnly cookie, plus the XSRF double-submit cookie (which
    the browser's script reads and sends back as the X-XSRF-TOKEN header): a fresh one
    when the session opens, `xsrf` when it is renewed (the open pages carry it). The
    browser keeps them for the session's idle time; each renewal starts it again."""
    secure = request.url.scheme == "https"
    age = idle_seconds
    response.set_cookie(
        SESSION_COOKIE,
        issued.access_token,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    response.set_cookie(
        XSRF_COOKIE, xsrf or secrets.token_urlsafe(24), max_age=age, samesite="lax", secure=secure
    )


def clear_session_cookies(response: Response) -> None:
    """Sign-out: the browser forgets the session and its XSRF token."""
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(XSRF_COOKIE)


def issue_token(
    request: Request, client_id: str, client_secret: str, session: bool = False
) -> IssuedToken:
    """A token for these credentials, checked within the sign-in limits (`api/sign_in.py`);
    `session`: a browser session's."""
    guard: SignInGuard = request.app.state.sign_ins
    services: Services = request.app.state.services
    tenant = guard.tenant_of(client_id, client_secret, caller_address(request))
    return services.tokens.issue(Principal(tenant=tenant, client_id=client_id), session=session)


def _token_answer(issued: IssuedToken) -> TokenPublic:
    return TokenPublic(
        access_token=issued.access_token, expires_in=issued.expires_in, scope=issued.scope
    )


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("credentials must use the Basic scheme")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise Unauthenticated("the Basic credentials are not valid base64") from error
    client_id, separator, secret = decoded.partition(":")
    if not separator or not client_id:
        raise Unauthenticated("the Basic credentials must be 'id:secret'")
    return client_id, secret
