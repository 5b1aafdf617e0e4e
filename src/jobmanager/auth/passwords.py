"""Client secrets: generated at random, stored only as a slow salted scrypt hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt parameters: about 16 MiB and tens of milliseconds a check, so a
# stolen table is expensive to attack while a token request stays quick.
_N, _R, _P = 2**14, 8, 1
_PREFIX = "scrypt"


def new_client_id(tenant: str) -> str:
    return f"{tenant}-{secrets.token_hex(6)}"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _N, _R, _P)
    return "$".join([_PREFIX, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_secret(secret: str, stored: str) -> bool:
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
        if prefix != _PREFIX:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, actual)


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
