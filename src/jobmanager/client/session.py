"""What both clients share: the base URL and credentials, the cached token, and how a
transport failure or an error answer becomes an exception."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from jobmanager.client.api import Endpoints
from jobmanager.client.call import Call
from jobmanager.client.errors import ServerUnavailable, UnexpectedAnswer
from jobmanager.client.types import Job, Token

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
T = TypeVar("T")

# Renew a token this long before it expires (at most a tenth of its lifetime).
RENEW_MARGIN_SECONDS = 60.0
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass
class TokenCache:
    """The current bearer token and when to renew it."""

    value: str | None = None
    renew_at: float = 0.0
    expires_at: float = 0.0  # seconds since the epoch: comparable in another process

    def current(self) -> str | None:
        """The token, or None when there is none or it is about to expire."""
        if self.value is None or time.monotonic() >= self.renew_at:
            return None
        return self.value

    def store(self, token: Token) -> str:
        margin = min(RENEW_MARGIN_SECONDS, token.expires_in / 10)
        self.value = token.access_token
        self.renew_at = time.monotonic() + token.expires_in - margin
        self.expires_at = time.time() + token.expires_in
        return token.access_token

    def adopt(self, value: str, expires_at: float) -> None:
        """Use a token an earlier process got, while it is not about to expire."""
        seconds_left = int(expires_at - time.time())
        if seconds_left > RENEW_MARGIN_SECONDS:
            self.store(Token(access_token=value, expires_in=seconds_left))

    def clear(self) -> None:
        self.value = None


def unavailable(url: str, error: httpx.TransportError) -> ServerUnavailable:
    """A clear `ServerUnavailable` for a transport failure."""
    if isinstance(error, httpx.ConnectError):
        reason = (
            "connection refused" if "refused" in str(error).lower() else f"cannot connect: {error}"
        )
    elif isinstance(error, httpx.TimeoutException):
        reason = "timed out"
    else:
        reason = str(error) or type(error).__name__
    return ServerUnavailable(url, reason)


def parsed(call: Call[T], response: httpx.Response) -> T:
    """The call's result from a successful answer; `UnexpectedAnswer` if it does not parse."""
    try:
        return call.parse(response)
    except ValueError as problem:
        reason = str(problem).splitlines()[0] if str(problem) else type(problem).__name__
        raise UnexpectedAnswer(str(response.request.url), response.status_code, reason) from None


def base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the server URL must start with http:// or https://, got {url!r}")
    return url


class ClientBase(Endpoints, Generic[H]):
    """The state both clients keep: URL, credentials, token, the httpx client."""

    def __init__(self, url: str, client_id: str, client_secret: str, http: H) -> None:
        self.url = base_url(url)
        self.client_id = client_id
        self._secret = client_secret
        self._http: H = http
        self._token = TokenCache()

    def adopt_token(self, value: str, expires_at: float) -> None:
        """Start from a token this client's credentials got earlier (`expires_at` in
        seconds since the epoch); a 401 still fetches a new one."""
        self._token.adopt(value, expires_at)

    def held_token(self) -> tuple[str, float] | None:
        """The token in use and when it expires, to hand to a later `adopt_token`."""
        value = self._token.current()
        return None if value is None else (value, self._token.expires_at)

    def _request(self, call: Call[Any], token: str | None) -> httpx.Request:
        request = self._http.build_request(call.method, call.path, **call.request_args())
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        return request


def check_wait(job: Job, deadline: float | None, timeout: float | None) -> bool:
    """True when the wait is over (the job is final); TimeoutError past the deadline."""
    if job.is_final:
        return True
    if deadline is not None and time.monotonic() >= deadline:
        raise TimeoutError(f"job {job.id} is still {job.status} after {timeout}s")
    return False


def deadline_after(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout
