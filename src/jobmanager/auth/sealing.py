"""Secrets the service must read back (a webhook's signing secret), sealed with a key kept
beside the token signing keys, so that a copy of the database alone gives none away.

The key file `webhook-secrets.key` (mode 0600, in the keys folder every replica of a
cluster shares) holds Fernet keys (AES-128-CBC with an HMAC-SHA256), one a line, the
current one first. A sealed value is `sealed:` and a Fernet token. `rotate` puts a new
key first and keeps the one before it, so that a value sealed by a replica that has not
read the new file yet still opens; a replica reads the file again when it changes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jobmanager.auth.keys import write_private

KEY_FILE = "webhook-secrets.key"
SEALED = "sealed:"
KEPT_KEYS = 2  # the current key and the one before it


class UnreadableSecret(Exception):
    """A sealed value none of the keys opens (a replica without the current key file)."""


class SecretBox:
    """Seals and opens secrets with the keys of one key file, re-read when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data = b""
        self._keys: MultiFernet
        self._reload()

    @classmethod
    def load_or_create(cls, folder: Path) -> SecretBox:
        """The box of the folder's key file, made with a new key at first use."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / KEY_FILE
        if not path.exists():
            write_private(path, Fernet.generate_key() + b"\n")
        return cls(path)

    def seal(self, secret: str) -> str:
        self._reload()
        return SEALED + self._keys.encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        """The secret a stored value holds. A value without the mark was stored before
        secrets were sealed, and is the secret itself."""
        if not stored.startswith(SEALED):
            return stored
        try:
            return self._open(stored)
        except UnreadableSecret:
            if not self._reload():  # another replica may have rotated the key
                raise
            return self._open(stored)

    def reseal(self, stored: str) -> str:
        """`stored` sealed with the current key (a value from before sealing, too)."""
        return self.seal(self.open(stored))

    def _open(self, stored: str) -> str:
        try:
            return self._keys.decrypt(stored.removeprefix(SEALED).encode()).decode()
        except InvalidToken:
            raise UnreadableSecret(f"no key in {self.path} opens this secret") from None

    def rotate(self) -> None:
        """Put a new key first in the file, keeping the one before it (see the module)."""
        with self._lock:
            kept = _keys_of(self.path.read_bytes(), self.path)[: KEPT_KEYS - 1]
            write_private(self.path, b"\n".join([Fernet.generate_key(), *kept]) + b"\n")
        self._reload()

    def _reload(self) -> bool:
        """Read the key file again if it changed (a few dozen bytes); whether it did."""
        data = self.path.read_bytes()
        with self._lock:
            if data == self._data:
                return False
            self._keys = MultiFernet([Fernet(key) for key in _keys_of(data, self.path)])
            self._data = data
            return True


def _keys_of(data: bytes, path: Path) -> list[bytes]:
    keys = [line.strip() for line in data.splitlines() if line.strip()]
    if not keys:
        raise ValueError(f"{path} holds no key")
    return keys
