"""JWT access tokens: RS256, naming the tenant (`ten`), the client, the scopes and `exp`."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

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


class TokenService:
    def __init__(self, keys: KeyRing, issuer: str, ttl_seconds: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds

    def issue(self, principal: Principal, now: float | None = None) -> IssuedToken:
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
        key = self.keys.current
        token = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})
        return IssuedToken(token, self.ttl_seconds, " ".join(SCOPES))

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("the token is not a JWT") from error
        public = self.keys.public_pem(str(header.get("kid", "")))
        if public is None or header.get("alg") != "RS256":
            raise InvalidToken("the token was not signed by this service")
        try:
            claims = jwt.decode(
                token, public, algorithms=["RS256"], options={"require": ["exp", "ten"]}
            )
        except jwt.ExpiredSignatureError as error:
            raise InvalidToken("the token has expired") from error
        except jwt.PyJWTError as error:
            raise InvalidToken("the token does not verify") from error
        tenant, client = claims.get("ten"), claims.get("client_id")
        if not isinstance(tenant, str) or not tenant or not isinstance(client, str):
            raise InvalidToken("the token names no tenant")
        return Principal(tenant=tenant, client_id=client)
