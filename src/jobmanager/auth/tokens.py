"""JWT access tokens: RS256, naming the tenant (`ten`), the client, the scopes and `exp`.

A browser session's token (the `SESSION` cookie) says so (`ses`): it is renewed while
the session is used, and the session ends after an idle time rather than at `exp`
(`verify_session`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from jobmanager.auth.keys import KeyRing

SCOPES = (
    "jobm.jobs.read",
    "jobm.jobs.write",
    "mdsp:core:JobManager.user",
    "plr.amm.c",
    "plr.amm.r",
    "plr.amm.u",
    "plr.amm.d",
    "dataexchange.files.rw",
    "prl.configurations.rw",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant's name and the client id that the token was issued to."""

    tenant: str
    client_id: str


class InvalidToken(Exception):
    """The token is malformed, expired, or not signed by one of our keys."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


@dataclass(frozen=True)
class SessionToken:
    """A browser session's token, verified: who, and when it was issued (last renewed)."""

    principal: Principal
    issued_at: int


class TokenService:
    def __init__(self, keys: KeyRing, issuer: str, ttl_seconds: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds

    def issue(
        self, principal: Principal, now: float | None = None, session: bool = False
    ) -> IssuedToken:
        """A token for `principal`; `session`: for a browser session's cookie."""
        issued_at = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer,
            "sub": principal.client_id,
            "client_id": principal.client_id,
            "ten": principal.tenant,
            "user_name": principal.client_id,
            "scope": list(SCOPES),
            "iat": issued_at,
            "exp": issued_at + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if session:
            claims["ses"] = True
        key = self.keys.current
        token = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
        return IssuedToken(token, self.ttl_seconds, " ".join(SCOPES))

    def verify(self, token: str) -> Principal:
        return _principal(self._claims(token, expiring=True))

    def verify_session(
        self, token: str, idle_seconds: int, now: float | None = None
    ) -> SessionToken:
        """A session cookie's token. A session's own lives while it is used: it is good
        until `idle_seconds` after it was issued (renewed), even past its `exp` when the
        idle time is the longer. Another token (an older cookie) lives to its `exp`."""
        claims = self._claims(token, expiring=False)
        issued_at = claims.get("iat")
        moment = now if now is not None else time.time()
        if claims.get("ses") is not True:
            exp = claims.get("exp")
            if not isinstance(exp, int) or exp <= moment:
                raise InvalidToken("the token has expired")
        elif not isinstance(issued_at, int) or moment - issued_at > idle_seconds:
            raise InvalidToken(f"the session has ended: it was not used for {idle_seconds} s")
        return SessionToken(_principal(claims), int(issued_at or 0))

    def _claims(self, token: str, expiring: bool) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("the token is not a JWT") from error
        public = self.keys.public_pem(str(header.get("kid", "")))
        if public is None or header.get("alg") != "RS256":
            raise InvalidToken("the token was not signed by this service")
        try:
            return dict(
                jwt.decode(
                    token,
                    public,
                    algorithms=["RS256"],
                    options={"require": ["exp", "ten"], "verify_exp": expiring},
                )
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired") from error
        except jwt.PyJWTError as error:
            raise InvalidToken("the token does not verify") from error


def _principal(claims: dict[str, Any]) -> Principal:
    tenant, client = claims.get("ten"), claims.get("client_id")
    if not isinstance(tenant, str) or not tenant or not isinstance(client, str):
        raise InvalidToken("the token names no tenant")
    return Principal(tenant=tenant, client_id=client)
