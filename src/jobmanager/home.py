"""The service's home folder, `$JOBMANAGER_HOME` (default `./.jobmanager`), and what it holds.

One definition for the settings (database and blobs), the services (signing keys, dev
credentials) and the CLI (which finds a local embedded server's dev credentials without
reading every setting). A leaf module: it imports nothing of the project.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

HOME_VARIABLE = "JOBMANAGER_HOME"
DEFAULT_HOME = Path(".jobmanager")


def home_from_environment() -> Path:
    """The home a local embedded server uses: `$JOBMANAGER_HOME`, else `./.jobmanager`."""
    return Path(os.environ.get(HOME_VARIABLE) or DEFAULT_HOME)


def database_file(home: Path) -> Path:
    """The embedded SQLite database."""
    return home / "jobmanager.db"


def blobs_folder(home: Path) -> Path:
    """The embedded blob store: model payloads and Data Exchange files."""
    return home / "blobs"


def keys_folder(home: Path) -> Path:
    """The token signing keys, made at first start."""
    return home / "keys"


def dev_credentials_file(home: Path) -> Path:
    """The `dev` tenant's credentials, written at the embedded default's first start."""
    return home / "dev-credentials.json"


def cache_folder() -> Path:
    """The user's cache folder for jobmanager: `$XDG_CACHE_HOME/jobmanager`, else
    `~/.cache/jobmanager` (read when asked, never at import)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jobmanager"


def environments_folder(home: Path) -> Path:
    """Where the environments of the service of `home` live while they exist (see
    `engine.layout`). Not in the home: a sandbox's mounts show the host paths they come
    from (`/proc/self/mountinfo`), and they must not name the service's folders; a
    digest of the home keeps the environments of two homes apart."""
    return cache_folder() / "environments" / _digest(home)


def pythons_folder(home: Path) -> Path:
    """The cached virtual environments of configurations that ask for packages (outside
    the home, as the environments are: sandboxes see them)."""
    return cache_folder() / "pythons" / _digest(home)


def _digest(home: Path) -> str:
    return hashlib.sha256(str(home.expanduser().resolve()).encode()).hexdigest()[:16]


def local_service_file(home: Path) -> Path:
    """The record of the CLI's local service of this home: pid, URL, credentials file."""
    return home / "local-service.json"


def local_service_lock(home: Path) -> Path:
    """Held while a CLI call looks for the local service or starts one: never two at once."""
    return home / "local-service.lock"


def local_service_log(home: Path) -> Path:
    """What the local service logs (it runs detached from any terminal)."""
    return home / "local-service.log"


def local_service_token(home: Path) -> Path:
    """The CLI's last token from the local service, reused by the next command until it
    is due for renewal (a token costs the service a deliberately slow secret check)."""
    return home / "local-service-token.json"


def write_private(path: Path, document: Any) -> None:
    """Write a JSON document readable by the user only, atomically (a reader sees the
    old document or the new one, never half of one)."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)
