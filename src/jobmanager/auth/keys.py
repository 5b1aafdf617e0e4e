"""The RS256 key pairs that sign tokens, kept as PEM files (mode 0600) under the home folder.

`signing.pem` signs new tokens. Older keys may be kept as `retired-*.pem` so that
tokens they signed still verify; `token_keys` lists the signing key first, as the
official client uses only the first key of the list.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: bytes
    public_pem: bytes
    modulus: int
    exponent: int

    def public_entry(self) -> dict[str, Any]:
        """The key as `/token_keys` lists it: PEM in `value`, plus the JWK fields."""
        return {
            "kid": self.kid,
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "value": self.public_pem.decode(),
            "n": _b64url_int(self.modulus),
            "e": _b64url_int(self.exponent),
        }


class KeyRing:
    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("a key ring needs a signing key")
        self.keys = keys

    @property
    def current(self) -> SigningKey:
        return self.keys[0]

    def public_pem(self, kid: str) -> bytes | None:
        for key in self.keys:
            if key.kid == kid:
                return key.public_pem
        return None

    @classmethod
    def load_or_create(cls, folder: Path) -> KeyRing:
        folder.mkdir(parents=True, exist_ok=True)
        signing = folder / "signing.pem"
        if not signing.exists():
            write_private(signing, _generate())
        paths = [signing, *sorted(folder.glob("retired-*.pem"), reverse=True)]
        return cls([_load(path) for path in paths])


def signing_key_id(folder: Path) -> str | None:
    """The id of the key in `folder` that signs new tokens; None before the first start."""
    signing = folder / "signing.pem"
    return _load(signing).kid if signing.is_file() else None


def _generate() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private(path: Path, pem: bytes) -> None:
    """Write a key file readable by its owner only, whole or not at all."""
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(temporary, path)


def _load(path: Path) -> SigningKey:
    private_pem = path.read_bytes()
    private = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    public = private.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = "key-" + hashlib.sha256(public_pem).hexdigest()[:16]
    numbers = public.public_numbers()
    return SigningKey(kid, private_pem, public_pem, numbers.n, numbers.e)


def _b64url_int(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
