"""The service's home folder and what it holds: `$JOBMANAGER_HOME`, else the user's data
folder (platformdirs: `~/.local/share/jobmanager` on Linux), one per user whatever the
working folder.

One definition for the settings (database and blobs), the services (signing keys, dev
credentials) and the CLI (which finds a local embedded server's dev credentials without
reading every setting). A leaf module: it imports nothing of the project.

The home is private: the folder is 0700 and the service writes its files 0600
(`make_private`), since it holds every job's data, the signing keys and the webhook
secrets. Versions before this one kept a home per working folder, `./.jobmanager`;
`choose_home` moves one found there to the user's home (or, when that cannot be done
now, uses it where it is) and says which in one line.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from platformdirs import user_cache_dir, user_data_dir

HOME_VARIABLE = "JOBMANAGER_HOME"
APP_NAME = "jobmanager"
LEGACY_HOME = Path(".jobmanager")  # the default of older versions: one per working folder
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077


def default_home() -> Path:
    """The user's data folder for jobmanager (`$XDG_DATA_HOME/jobmanager` on Linux)."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


def home_from_environment() -> Path:
    """`$JOBMANAGER_HOME`, else the user's data folder; absolute."""
    chosen = os.environ.get(HOME_VARIABLE)
    return (Path(chosen).expanduser() if chosen else default_home()).resolve()


@dataclass(frozen=True)
class HomeChoice:
    """The home to use, and a line to show when an older `./.jobmanager` was involved."""

    path: Path
    note: str | None = None


def choose_home(working_folder: Path | None = None) -> HomeChoice:
    """The home of a command run in `working_folder` (default: the current one).

    `$JOBMANAGER_HOME` wins. Else the user's data folder; an older version's
    `./.jobmanager` of the working folder is moved there when nothing uses it and the
    user's home holds nothing yet, else used where it is. Nothing is ever deleted: a move
    is a rename, or a copy removed from its old place only once complete."""
    home = home_from_environment()
    legacy = (working_folder or Path.cwd()) / LEGACY_HOME
    if os.environ.get(HOME_VARIABLE) or not legacy.is_dir() or legacy.resolve() == home:
        return HomeChoice(home)
    legacy = legacy.resolve()
    with _holding(local_service_lock(legacy)):  # no service starts on it meanwhile
        if not legacy.is_dir():  # another command moved it while this one waited
            return HomeChoice(home)
        return _adopt(legacy, home)


def _adopt(legacy: Path, home: Path) -> HomeChoice:
    older = f"{legacy}, the home of an older jobmanager,"
    if in_use(legacy):
        return HomeChoice(
            legacy,
            f"using {older} where it is while a service runs on it; it moves to the "
            f"default home {home} at the next start with none",
        )
    if home.exists() and any(home.iterdir()):
        return HomeChoice(
            legacy,
            f"using {older} where it is: the default home {home} holds another (set "
            f"{HOME_VARIABLE} to choose one)",
        )
    try:
        _move(legacy, home)
    except OSError as error:
        return HomeChoice(
            legacy, f"using {older} where it is: it could not move to {home} ({error})"
        )
    return HomeChoice(home, f"moved {legacy}, the home of an older jobmanager, to {home}")


def _move(source: Path, target: Path) -> None:
    """Rename `source` to `target` (an empty or missing folder); across file systems,
    copy to a sibling of `target`, rename that, and only then remove `source`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rmdir()  # empty (checked): a rename onto it would fail on some systems
    try:
        os.rename(source, target)
        return
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    copy = target.with_name(f"{target.name}.moving-{os.getpid()}")
    try:
        shutil.copytree(source, copy, symlinks=True)
        os.rename(copy, target)
    except BaseException:
        shutil.rmtree(copy, ignore_errors=True)
        raise
    shutil.rmtree(source)


def in_use(home: Path) -> bool:
    """True while a service runs on `home`: a `jobmanager serve` holds its `serve.lock`,
    (an older version's) local service is recorded there and alive, or a process has its
    database open (an older version's service run by hand)."""
    marker = serve_lock(home)
    if marker.exists():
        with marker.open("rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
    try:
        pid = int(json.loads(local_service_file(home).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        pid = None
    if pid is not None and psutil.pid_exists(pid):
        return True
    return _opened_by_any_process(database_file(home))


def _opened_by_any_process(path: Path) -> bool:
    """True when a process of this user has `path` open."""
    wanted = str(path.resolve())
    for process in psutil.process_iter():
        try:
            if any(opened.path == wanted for opened in process.open_files()):
                return True
        except psutil.Error:
            continue
    return False


def make_private(home: Path) -> list[Path]:
    """Create `home` readable by the user only, and tighten an older version's home
    (0755, its files 0644): the home and its `keys/` folder 0700, the files of both 0600.
    Returns what could not be tightened (a home the user does not own, a read-only mount
    such as a Kubernetes secret's)."""
    home.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    targets = [(home, PRIVATE_FOLDER)]
    for folder in (home, keys_folder(home)):
        if not folder.is_dir():
            continue
        if folder != home:
            targets.append((folder, PRIVATE_FOLDER))
        targets += [
            (entry, PRIVATE_FILE)
            for entry in folder.iterdir()
            if entry.is_file() and not entry.is_symlink()
        ]
    return [path for path, mode in targets if not _tightened(path, mode)]


def _tightened(path: Path, mode: int) -> bool:
    """Whether `path` has `mode` now: set, or already so where it cannot be set."""
    try:
        os.chmod(path, mode)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EACCES, errno.EROFS):
            raise
        return stat.S_IMODE(path.stat().st_mode) == mode
    return True


@contextlib.contextmanager
def _holding(path: Path) -> Iterator[None]:
    """An exclusive `flock` on `path` (created, private) while the block runs."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def hold_serve_lock(home: Path) -> int:
    """Mark `home` in use for as long as this process lives: a shared `flock` on its
    `serve.lock` (several services may share a home). Returns the descriptor."""
    descriptor = os.open(serve_lock(home), os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor


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
    """The user's cache folder for jobmanager (platformdirs: `$XDG_CACHE_HOME/jobmanager`,
    else `~/.cache/jobmanager` on Linux; read when asked, never at import)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))


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
    """Held while a CLI call looks for the local service or starts one: never two at once
    (and while an older version's home is moved: `choose_home`)."""
    return home / "local-service.lock"


def serve_lock(home: Path) -> Path:
    """Held (shared) by every `jobmanager serve` of the home while it runs: the home is in
    use, and the process holding it open is a service of this home (`in_use`)."""
    return home / "serve.lock"


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
