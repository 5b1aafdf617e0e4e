"""Room on the disks the service writes to: a full disk is a clear answer, never a wedge.

- **Which errors mean "full"** (`full_storage`): a local disk's ENOSPC or EDQUOT,
  SQLite's SQLITE_FULL (and SQLITE_IOERR_SHMSIZE, see `_sqlite_full`), PostgreSQL's
  SQLSTATE 53100 (disk_full), an object store's HTTP 507 or MinIO's `XMinioStorageFull`,
  wherever they sit in an exception's chain (SQLAlchemy and s3fs wrap them).
  `DiskSpace.disk_full(error)` turns one into the domain's `DiskFull` (HTTP 507), naming
  the storage; `naming(role)` does so for the local blob folder's writes.
- **The local disks** (`DiskSpace`): the home (job environments), the SQLite database's
  folder and the blob folder, one `Disk` per filesystem, read with statvfs. A disk is
  *full* when less than its floor (the reserve's size, at least 1 MiB) is free besides
  its reserve. While it is, new work that would write there is refused (`require_room`):
  uploads, new rows, job claims (they wait `SUBMITTED`).
- **The reserve**: a preallocated file (`disk-reserve`, `JOBMANAGER_DISK_RESERVE_MIB`) on
  each watched disk. A write that must commit even on a full disk — a delete, a stop, a
  status move, a heartbeat: `Database.transaction(essential=True)` — first releases it
  when the disk is full (`make_room`), so SQLite has room for its journal; it is taken
  again once the disk has room for it and the floor.
- **The log**: one line when a disk fills and one when it has room again (`watch` checks
  every second); a remote storage that says it is full logs one line, and one when it has
  not said so for `QUIET_SECONDS`. `QuietFullDisk`, a log filter, drops the records of
  failures a full storage caused: no traceback per attempt.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jobmanager.common.loops import Every
from jobmanager.domain.errors import DiskFull

log = logging.getLogger("jobmanager.space")

MIB = 1024 * 1024
MIN_FREE_BYTES = MIB  # the least a disk must have free (besides its reserve) to take new work
RESERVE_NAME = "disk-reserve"
CHECK_SECONDS = 1.0
QUIET_SECONDS = 60.0  # a remote storage not said full for this long is taken to have room

# The storages that can say they are full, as `full_storage` names them.
LOCAL_DISK = "local disk"
SQLITE = "SQLite"
POSTGRESQL = "PostgreSQL"
OBJECT_STORE = "object store"
WHERE = {
    LOCAL_DISK: "the service's disk",
    SQLITE: "the disk of the service's database",
    POSTGRESQL: "the database server's disk",
    OBJECT_STORE: "the object store",
}
# What a watched disk holds, as its description names it.
ROLES = {"database": "database", "blobs": "files", "environments": "job environments"}

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_SQLITE_FULL = 13
_SQLITE_IOERR_SHMSIZE = 10 | 19 << 8
_POSTGRES_DISK_FULL = "53100"
_OBJECT_STORE_FULL_CODES = {"XMinioStorageFull", "InsufficientStorage"}


def full_storage(error: BaseException) -> str | None:
    """The storage that `error`, or an error it wraps, says is full; None for any other."""
    for each in _chain(error):
        if isinstance(each, DiskFull) or (isinstance(each, OSError) and each.errno in _FULL_ERRNOS):
            return LOCAL_DISK
        if isinstance(each, sqlite3.Error) and _sqlite_full(getattr(each, "sqlite_errorcode", 0)):
            return SQLITE
        if getattr(each, "sqlstate", None) == _POSTGRES_DISK_FULL:
            return POSTGRESQL
        response = getattr(each, "response", None)  # botocore's ClientError
        if isinstance(response, Mapping):
            code = response.get("Error", {}).get("Code")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _OBJECT_STORE_FULL_CODES or status == 507:
                return OBJECT_STORE
    return None


def _sqlite_full(code: int) -> bool:
    """SQLITE_FULL (a journal or the database could not grow), or SQLITE_IOERR_SHMSIZE:
    opening a database whose shared-memory file is not there yet (after a restart) on a
    disk with no room for it."""
    return code & 0xFF == _SQLITE_FULL or code == _SQLITE_IOERR_SHMSIZE


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, what it was raised from or during, and a DBAPI error's original."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        each = pending.pop()
        if id(each) in seen:
            continue
        seen.add(id(each))
        yield each
        inner = [each.__cause__, each.__context__, getattr(each, "orig", None)]
        pending.extend(e for e in inner if isinstance(e, BaseException))


class _RemoteFullness:
    """Which remote storages (the database server, the object store) said they are full,
    and when last: one log line when one starts saying so, one when it has stopped."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def saw(self, storage: str) -> None:
        with self._lock:
            first = storage not in self._last
            self._last[storage] = time.monotonic()
        if first:
            log.warning(
                "%s is full: what needs room there fails (HTTP 507) until it has room again",
                WHERE[storage],
            )

    def end_quiet(self) -> None:
        now = time.monotonic()
        with self._lock:
            ended = [s for s, last in self._last.items() if now - last >= QUIET_SECONDS]
            for storage in ended:
                del self._last[storage]
        for storage in ended:
            log.info("%s has not said it is full for %.0f s", WHERE[storage], QUIET_SECONDS)


_REMOTE = _RemoteFullness()


def noticed(error: BaseException) -> str | None:
    """The storage `error` says is full, if any; a remote one's first such error is logged
    (the local disks' state is logged by `DiskSpace`, which reads it itself)."""
    storage = full_storage(error)
    if storage in (POSTGRESQL, OBJECT_STORE):
        _REMOTE.saw(storage)
    return storage


class QuietFullDisk(logging.Filter):
    """Drops a log record whose exception says a storage is full: `DiskSpace` and
    `noticed` say it once, not a traceback per attempt."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or noticed(error) is None


@dataclass
class Disk:
    """One watched filesystem: a folder on it (where the reserve lives) and what it holds."""

    folder: Path
    roles: list[str]
    reserve_bytes: int
    full: bool = field(default=False, compare=False)

    @property
    def reserve(self) -> Path:
        return self.folder / RESERVE_NAME

    @property
    def floor(self) -> int:
        """What must be free besides the reserve for new work."""
        return max(self.reserve_bytes, MIN_FREE_BYTES)

    def describe(self) -> str:
        holds = [ROLES[role] for role in self.roles]
        what = holds[0] if len(holds) == 1 else f"{', '.join(holds[:-1])} and {holds[-1]}"
        return f"the disk of the service's {what}"

    def free(self) -> int:
        stats = os.statvfs(self.folder)
        return stats.f_bavail * stats.f_frsize

    def held(self) -> bool:
        return self.reserve_bytes > 0 and self.reserve.exists()

    def room(self) -> int:
        """Bytes free besides the reserve: a reserve not held is owed."""
        free = self.free()
        return free if self.held() or not self.reserve_bytes else free - self.reserve_bytes

    def take_reserve(self) -> bool:
        """Preallocate the reserve (under a temporary name, then renamed); False when there
        is no room for it."""
        temporary = self.folder / f"{RESERVE_NAME}.{os.getpid()}.{threading.get_ident()}"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(descriptor, 0, self.reserve_bytes)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.reserve)
        except OSError:
            temporary.unlink(missing_ok=True)
            return False
        return True

    def release_reserve(self) -> None:
        self.reserve.unlink(missing_ok=True)


class DiskSpace:
    """The local disks this process writes to (see the module's doc). Thread-safe; every
    check reads the disks anew (a statvfs each, a few microseconds)."""

    def __init__(self, disks: list[Disk]) -> None:
        self.disks = disks
        self._lock = threading.Lock()
        self._loop = Every("disk-space", CHECK_SECONDS, self._round)

    @classmethod
    def watching(cls, folders: Mapping[str, Path], reserve_bytes: int) -> DiskSpace:
        """The disks of `folders` (role -> folder; made if missing): the roles whose
        folders share a filesystem share a disk, whose reserve is in the first of them."""
        disks: dict[int, Disk] = {}
        for role, folder in folders.items():
            folder.mkdir(parents=True, exist_ok=True)
            device = folder.stat().st_dev
            if device in disks:
                disks[device].roles.append(role)
            else:
                disks[device] = Disk(folder, [role], reserve_bytes)
        return cls(list(disks.values()))

    # ------------------------------------------------------------ the state

    def check(self, *roles: str) -> list[Disk]:
        """The full disks (of those holding `roles`, or all), their state read now: a line
        is logged as a disk fills or has room again, and a reserve is taken back when the
        disk has room for it."""
        with self._lock:
            return [disk for disk in self._holding(roles) if self._update(disk)]

    def _update(self, disk: Disk) -> bool:
        try:
            room = disk.room()
        except OSError:  # the folder is gone or unreadable: its state is not known anew
            return disk.full
        if room >= disk.floor and disk.reserve_bytes and not disk.held():
            disk.take_reserve()
        full = room < disk.floor
        if full and not disk.full:
            log.warning(
                "%s (%s) is full: %s free besides the reserve, less than %s: refusing "
                "uploads, new records and new jobs until there is room; deletes, stops "
                "and reads go on",
                disk.describe(),
                disk.folder,
                _mib(max(0, room)),
                _mib(disk.floor),
            )
        elif disk.full and not full:
            log.info(
                "%s (%s) has room again (%s free): taking uploads, new records and new jobs again",
                disk.describe(),
                disk.folder,
                _mib(room),
            )
        disk.full = full
        return full

    def _holding(self, roles: tuple[str, ...]) -> list[Disk]:
        if not roles:
            return self.disks
        return [disk for disk in self.disks if set(roles) & set(disk.roles)]

    def full_sentences(self) -> list[str]:
        """One sentence for each full disk, naming it and what is free."""
        return [f"{_where(disk)} is full" for disk in self.check()]

    def room_for(self, *roles: str) -> bool:
        """Whether the disks holding `roles` take new work now."""
        return not self.check(*roles)

    def require_room(self, *roles: str) -> None:
        """Raise DiskFull, naming the disk, when a disk holding `roles` is full."""
        full = self.check(*roles)
        if full:
            raise DiskFull(_where(full[0]))

    def where(self, role: str) -> str:
        """The disk holding `role`, as a caller's message names it."""
        disks = self._holding((role,))
        return _where(disks[0]) if disks else WHERE[LOCAL_DISK]

    @contextlib.contextmanager
    def naming(self, role: str) -> Iterator[None]:
        """A full disk met inside raises DiskFull naming the disk that holds `role`."""
        try:
            yield
        except OSError as error:
            if error.errno not in _FULL_ERRNOS:
                raise
            raise DiskFull(self.where(role)) from error

    def make_room(self, *roles: str) -> None:
        """Before a write that must commit on a full disk: release the reserve of each full
        disk holding `roles`, so the write has room."""
        with self._lock:
            for disk in self._holding(roles):
                with contextlib.suppress(OSError):
                    if disk.held() and disk.free() < disk.floor:
                        disk.release_reserve()
                        log.debug("released the reserve of %s", disk.folder)

    def disk_full(self, error: BaseException) -> DiskFull | None:
        """`error` as the DiskFull the caller sees, naming the storage; None when it is no
        full storage's."""
        storage = noticed(error)
        if storage is None:
            return None
        local = {LOCAL_DISK: (), SQLITE: ("database",)}.get(storage)
        full = self.check(*local) if local is not None else []
        return DiskFull(_where(full[0]) if full else WHERE[storage])

    # ------------------------------------------------------------ watching

    def watch(self) -> None:
        """Check every second in the background (log lines, the reserve) until `close`."""
        if self.disks:
            self._loop.start()

    def close(self) -> None:
        self._loop.stop()

    def _round(self) -> None:
        self.check()
        _REMOTE.end_quiet()


def _where(disk: Disk) -> str:
    """A full disk as a caller's message names it."""
    with contextlib.suppress(OSError):
        return f"{disk.describe()} ({_mib(max(0, disk.room()))} free)"
    return disk.describe()


def _mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"
