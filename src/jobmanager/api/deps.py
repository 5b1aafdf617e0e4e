"""Dependencies shared by the routes: the services, the dispatcher, and the authenticated caller."""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from jobmanager.auth.tokens import InvalidToken, Principal
from jobmanager.common.logs import add_log_fields
from jobmanager.dispatch.base import Dispatcher
from jobmanager.domain.errors import Forbidden, Unauthenticated
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.store import Store

SESSION_COOKIE = "SESSION"
XSRF_COOKIE = "XSRF-TOKEN"
XSRF_HEADER = "x-xsrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_CREDENTIALS = "no credentials: send 'Authorization: Bearer <token>'"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. Every repository call takes `tenant_id`."""

    tenant_id: str
    tenant: str
    client_id: str


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_store(services: ServicesDep) -> Store:
    return services.store


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]


class ActiveClients:
    """Which client ids are live, cached a few seconds: a revocation takes effect within `ttl`."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def tenant_of(self, store: Store, client_id: str) -> str | None:
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(client_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        tenant_id = store.tenants.active_client(client_id)
        with self._lock:
            self._entries[client_id] = (now, tenant_id)
        return tenant_id


def authenticate(request: Request, services: ServicesDep) -> Caller:
    """The caller of a bearer token, else of the browser session's cookie."""
    bearer = _bearer_token(request)
    if bearer is not None:
        return caller_of_token(request, services, bearer)
    if not request.cookies.get(SESSION_COOKIE):
        raise Unauthenticated(NO_CREDENTIALS)
    if request.method not in SAFE_METHODS and not xsrf_matches(
        request, request.headers.get(XSRF_HEADER, "")
    ):
        raise Forbidden("a session call that changes state needs the X-XSRF-TOKEN header")
    return session_caller(request, services)


def caller_of_token(request: Request, services: Services, token: str) -> Caller:
    """The caller a bearer token names, if its client is still active."""
    try:
        principal = services.tokens.verify(token)
    except InvalidToken as error:
        raise Unauthenticated(str(error)) from error
    return _active_caller(request, services, principal)


# Where a request that renewed its session keeps the new token, for the response's
# cookies (`api/session_renewal.py`).
SESSION_RENEWAL = "jobmanager.session_renewal"


def session_caller(request: Request, services: Services) -> Caller:
    """The caller of the browser session's cookie (console pages, a page's API calls).

    A session ends after `session_idle_seconds` without use (`TokenService.verify_session`).
    A request a person made (not what an open page asks by itself: `made_by_a_person`)
    renews its token, so a session in use never meets its token's expiry."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated(NO_CREDENTIALS)
    idle = services.settings.session_idle_seconds
    try:
        session = services.tokens.verify_session(token, idle)
    except InvalidToken as error:
        raise Unauthenticated(str(error)) from error
    caller = _active_caller(request, services, session.principal)
    if made_by_a_person(request) and time.time() - session.issued_at >= 1:
        request.scope[SESSION_RENEWAL] = services.tokens.issue(session.principal, session=True)
    return caller


def made_by_a_person(request: Request) -> bool:
    """A page, a form, an action, a download: not an open page's own polling (htmx's
    fragment requests) or its event stream, which must not keep an idle session alive."""
    if request.method not in SAFE_METHODS:
        return True
    if request.headers.get("hx-request") == "true":
        return False
    return "text/event-stream" not in request.headers.get("accept", "")


def _active_caller(request: Request, services: Services, principal: Principal) -> Caller:
    clients: ActiveClients = request.app.state.active_clients
    tenant_id = clients.tenant_of(services.store, principal.client_id)
    if tenant_id is None:
        raise Unauthenticated("the token's credentials are revoked or unknown")
    add_log_fields(tenant=tenant_id)
    return Caller(tenant_id=tenant_id, tenant=principal.tenant, client_id=principal.client_id)


CallerDep = Annotated[Caller, Depends(authenticate)]


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return value.strip()


def xsrf_matches(request: Request, sent: str) -> bool:
    """The double-submit check: the token sent (header or form field) equals the cookie."""
    cookie = request.cookies.get(XSRF_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie, sent)
