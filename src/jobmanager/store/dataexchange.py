"""Data Exchange (SPEC §3): a tenant's folders and files, their names, and their blobs.

Every tenant has two root folders, `_PUBLIC_ROOT_ID` and `_PRIVATE_ROOT_ID`: they are
ids, not rows. A file's bytes live in a blob; its row points to it. A new content is
always a new blob: the row's pointer is swapped in one transaction, and the old blob
is deleted only after that commits, so no reader ever sees a half file.

The full path the 1024-byte limit counts is the names below the root, joined by `/`.

Concurrency. SQLite serialises writers. On PostgreSQL, a write locks the folder it
writes into (`FOR SHARE`) and a folder delete locks the folder and every folder below
it (`FOR UPDATE`, level by level), so an entry is never created inside a folder being
deleted. Moves of folders take a per-tenant advisory lock, so two concurrent moves can
never make a cycle. Two siblings of one name are refused by a unique constraint.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from jobmanager.domain.errors import Conflict, InvalidInput, NotFound, TooLarge
from jobmanager.domain.filters import DATETIME, STRING, FieldSpec, Filter
from jobmanager.domain.names import MAX_PATH_BYTES, NameRuleError, check_name, check_path
from jobmanager.store.blobs import BlobStore, BlobTooLarge
from jobmanager.store.db import Database
from jobmanager.store.query import filter_clause
from jobmanager.store.tables import DataEntry, Tenant
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.dataexchange")

PUBLIC_ROOT_ID = "_PUBLIC_ROOT_ID"
PRIVATE_ROOT_ID = "_PRIVATE_ROOT_ID"
ROOT_NAMES = {PUBLIC_ROOT_ID: "public", PRIVATE_ROOT_ID: "private"}
LISTING_FIELDS: dict[str, FieldSpec] = {"name": STRING, "type": STRING, "modifiedDate": DATETIME}
_LISTING_COLUMNS = {
    "name": DataEntry.name,
    "type": DataEntry.type,
    "modifiedDate": DataEntry.modified_date,
}
_MOVE_LOCK_CLASS = 7316  # pg_advisory_xact_lock(class, tenant hash) for folder moves
_RETRIES = 3  # put_file: attempts when a concurrent writer made the same name first


@dataclass(frozen=True)
class FileRecord:
    id: str
    parent_id: str
    name: str
    type: str
    size_in_bytes: int
    modified_date: datetime
    modified_by: str
    blob_key: str


@dataclass(frozen=True)
class DirectoryRecord:
    id: str
    parent_id: str
    name: str
    modified_date: datetime
    modified_by: str


@dataclass(frozen=True)
class DirectoryListing:
    """One page of a folder: its sub-folders (by name) first, then its files (by name)."""

    directories: list[DirectoryRecord]
    files: list[FileRecord]
    total: int


class DataExchangeRepository:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    # ------------------------------------------------------------------ folders

    def create_directory(
        self, tenant_id: str, parent_id: str, name: str, *, modified_by: str = ""
    ) -> DirectoryRecord:
        with _conflicts(), self.db.transaction() as session:
            names = _parent_names(session, tenant_id, parent_id)
            normal = _checked(names, name)
            _check_free(session, tenant_id, parent_id, normal)
            row = _new_entry(tenant_id, parent_id, normal, True, modified_by)
            session.add(row)
            session.flush()
            return _directory(row)

    def get_directory(self, tenant_id: str, directory_id: str) -> DirectoryRecord:
        """A folder of the tenant (a root too); NotFound for a file or an unknown id."""
        with self.db.reading() as session:
            return _directory_or_root(session, tenant_id, directory_id)

    def update_directory(
        self,
        tenant_id: str,
        directory_id: str,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        modified_by: str = "",
    ) -> DirectoryRecord:
        """Rename and/or move a folder with everything in it."""
        if directory_id in ROOT_NAMES:
            raise InvalidInput(f"the root folder {directory_id} cannot be renamed or moved")
        with _conflicts(), self.db.transaction() as session:
            if parent_id is not None:
                _lock_moves(session, tenant_id)
            row = _entry(session, tenant_id, directory_id, directory=True, lock=True)
            _relocate(session, row, name, parent_id, modified_by)
            return _directory(row)

    def delete_directory(self, tenant_id: str, directory_id: str, *, recursive: bool) -> None:
        """Delete a folder; one that is not empty only with `recursive`."""
        if directory_id in ROOT_NAMES:
            raise InvalidInput(f"the root folder {directory_id} cannot be deleted")
        with _conflicts(), self.db.transaction() as session:
            row = _entry(session, tenant_id, directory_id, directory=True, lock=True)
            if not recursive and _has_children(session, tenant_id, directory_id):
                raise Conflict(
                    f"folder {directory_id!r} is not empty; delete it with recursive=true"
                )
            folders = _lock_subtree(session, tenant_id, directory_id)
            keys = _delete_under(session, tenant_id, folders)
            session.delete(row)
        self._delete_blobs(keys)

    def list_directory(
        self,
        tenant_id: str,
        directory_id: str,
        *,
        offset: int,
        limit: int,
        flt: Filter | None = None,
    ) -> DirectoryListing:
        condition = filter_clause(flt or Filter(), _LISTING_COLUMNS)
        where = (
            DataEntry.tenant_id == tenant_id,
            DataEntry.parent_id == directory_id,
            condition,
        )
        with self.db.reading() as session:
            _directory_or_root(session, tenant_id, directory_id)
            total = session.scalar(select(func.count()).select_from(DataEntry).where(*where))
            rows = session.scalars(
                select(DataEntry)
                .where(*where)
                .order_by(DataEntry.is_directory.desc(), DataEntry.name, DataEntry.id)
                .offset(offset)
                .limit(limit)
            ).all()
            return DirectoryListing(
                directories=[_directory(r) for r in rows if r.is_directory],
                files=[_file(r) for r in rows if not r.is_directory],
                total=int(total or 0),
            )

    def list_tree(self, tenant_id: str, folder_id: str) -> list[tuple[str, FileRecord]]:
        """Every file below a folder (a root too), with its path relative to the folder
        (`a/b/c.txt`), sorted by path, read in one consistent snapshot."""
        found: list[tuple[str, FileRecord]] = []
        with self.db.reading() as session:
            _directory_or_root(session, tenant_id, folder_id)
            level = {folder_id: ""}
            while level:
                rows = _children_of(session, tenant_id, list(level))
                next_level: dict[str, str] = {}
                for row in rows:
                    path = level[row.parent_id] + row.name
                    if row.is_directory:
                        next_level[row.id] = path + "/"
                    else:
                        found.append((path, _file(row)))
                level = next_level
        return sorted(found, key=lambda item: item[0])

    # ------------------------------------------------------------------ files

    def create_file(
        self,
        tenant_id: str,
        parent_id: str,
        name: str,
        *,
        blob_key: str,
        size: int,
        type: str = "",
        modified_by: str = "",
    ) -> FileRecord:
        """Record an already written blob as a new file. On failure the blob is the
        caller's to discard."""
        with _conflicts(), self.db.transaction() as session:
            names = _parent_names(session, tenant_id, parent_id)
            normal = _checked(names, name)
            _check_free(session, tenant_id, parent_id, normal)
            row = _new_entry(tenant_id, parent_id, normal, False, modified_by)
            row.type, row.size_in_bytes, row.blob_key = type, size, blob_key
            session.add(row)
            session.flush()
            return _file(row)

    def get_file(self, tenant_id: str, file_id: str) -> FileRecord:
        with self.db.reading() as session:
            return _file(_entry(session, tenant_id, file_id, directory=False))

    def open_file(self, tenant_id: str, file_id: str) -> tuple[FileRecord, BinaryIO]:
        """The file and an open handle on its bytes (the caller closes it). Retries once
        when the content was replaced between reading the row and opening the blob."""
        for attempt in range(2):
            record = self.get_file(tenant_id, file_id)
            try:
                return record, self.blobs.open(record.blob_key)
            except FileNotFoundError:
                if attempt:
                    raise NotFound("file", file_id) from None
        raise AssertionError("unreachable")

    def replace_file(
        self, tenant_id: str, file_id: str, *, blob_key: str, size: int, modified_by: str = ""
    ) -> FileRecord:
        """Point a file at a new, already written blob; the old blob is deleted after."""
        with self.db.transaction() as session:
            row = _entry(session, tenant_id, file_id, directory=False, lock=True)
            old_key = row.blob_key
            row.blob_key, row.size_in_bytes = blob_key, size
            _touch(row, modified_by)
            session.flush()
            record = _file(row)
        self._delete_blobs([old_key])
        return record

    def update_file(
        self,
        tenant_id: str,
        file_id: str,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        modified_by: str = "",
    ) -> FileRecord:
        """Rename and/or move a file."""
        with _conflicts(), self.db.transaction() as session:
            row = _entry(session, tenant_id, file_id, directory=False, lock=True)
            _relocate(session, row, name, parent_id, modified_by)
            return _file(row)

    def delete_file(self, tenant_id: str, file_id: str) -> None:
        with self.db.transaction() as session:
            row = _entry(session, tenant_id, file_id, directory=False, lock=True)
            key = row.blob_key
            session.delete(row)
        self._delete_blobs([key])

    def put_file(
        self,
        tenant_id: str,
        parent_id: str,
        relative_path: str,
        chunks: Iterable[bytes],
        *,
        type: str | None = None,
        modified_by: str = "",
        limit: int | None = None,
    ) -> FileRecord:
        """Write `chunks` to `parent_id/relative_path` (`a/b/c.txt`), making missing
        folders; an existing file of that path is replaced. The bytes go to a new blob
        first, then one transaction makes the folders and swaps the pointer. `type`
        defaults to the media type guessed from the name ("" when unknown)."""
        parts = _split_path(relative_path)
        if type is None:
            type = mimetypes.guess_type(parts[-1])[0] or ""
        key = self.blobs.new_key()
        try:
            size = self.blobs.write(key, chunks, limit)
        except BlobTooLarge as error:
            raise TooLarge(f"{relative_path!r} is larger than {limit} bytes") from error
        try:
            record, old_key = self._put_with_retries(
                tenant_id, parent_id, parts, key, size, type, modified_by
            )
        except BaseException:
            self.blobs.delete(key)
            raise
        if old_key:
            self._delete_blobs([old_key])
        return record

    def _put_with_retries(
        self,
        tenant_id: str,
        parent_id: str,
        parts: list[str],
        key: str,
        size: int,
        type: str,
        modified_by: str,
    ) -> tuple[FileRecord, str | None]:
        for attempt in range(_RETRIES):
            try:
                with self.db.transaction() as session:
                    row, old_key = _put_entry(session, tenant_id, parent_id, parts, modified_by)
                    row.blob_key, row.size_in_bytes, row.type = key, size, type
                    session.flush()
                    return _file(row), old_key
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise Conflict(f"{'/'.join(parts)!r} was changed concurrently") from None
        raise AssertionError("unreachable")

    def _delete_blobs(self, keys: Iterable[str | None]) -> None:
        """After a commit: a blob that cannot be deleted is only logged (an orphan)."""
        for key in keys:
            if not key:
                continue
            try:
                self.blobs.delete(key)
            except Exception:
                log.exception("could not delete blob %s (left as an orphan)", key)


# ---------------------------------------------------------------------- helpers


@contextmanager
def _conflicts() -> Iterator[None]:
    """A sibling made under the same name concurrently, or a PostgreSQL deadlock between
    two structural changes: both are a 409 the caller may retry."""
    try:
        yield
    except IntegrityError as error:
        raise Conflict("the folder already holds an entry of that name") from error
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) in ("40P01", "40001"):
            raise Conflict("the folder was changed concurrently; try again") from error
        raise


def _new_entry(
    tenant_id: str, parent_id: str, name: str, is_directory: bool, modified_by: str
) -> DataEntry:
    return DataEntry(
        tenant_id=tenant_id,
        parent_id=parent_id,
        name=name,
        is_directory=is_directory,
        type="",
        size_in_bytes=0,
        modified_date=utcnow(),
        modified_by=modified_by,
    )


def _touch(row: DataEntry, modified_by: str) -> None:
    row.modified_date = utcnow()
    row.modified_by = modified_by


def _entry(
    session: Session, tenant_id: str, entry_id: str, *, directory: bool, lock: bool = False
) -> DataEntry:
    query = select(DataEntry).where(
        DataEntry.id == entry_id,
        DataEntry.tenant_id == tenant_id,
        DataEntry.is_directory.is_(directory),
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("directory" if directory else "file", entry_id)
    return row


def _directory_or_root(session: Session, tenant_id: str, directory_id: str) -> DirectoryRecord:
    if directory_id in ROOT_NAMES:
        created = session.scalar(select(Tenant.created_at).where(Tenant.id == tenant_id))
        return DirectoryRecord(directory_id, "", ROOT_NAMES[directory_id], created or utcnow(), "")
    return _directory(_entry(session, tenant_id, directory_id, directory=True))


def _parent_names(session: Session, tenant_id: str, parent_id: str) -> list[str]:
    """The names from below the root down to `parent_id`, the folder locked against a
    concurrent delete. An unknown parent is a 400 naming `parentId`."""
    names: list[str] = []
    current = parent_id
    locked = False
    while current not in ROOT_NAMES:
        query = select(DataEntry).where(DataEntry.id == current, DataEntry.tenant_id == tenant_id)
        row = session.scalar(query if locked else query.with_for_update(read=True))
        if row is None or not row.is_directory:
            what = "a file, not a folder" if row is not None else "not a folder of this tenant"
            raise InvalidInput(f"parentId: {parent_id!r} is {what}")
        locked = True
        names.append(row.name)
        current = row.parent_id
        if len(names) > MAX_PATH_BYTES:
            raise AssertionError(f"folder {parent_id!r} is its own ancestor")
    return names[::-1]


def _ancestors(session: Session, tenant_id: str, folder_id: str) -> list[str]:
    """The ids from `folder_id` up to (not including) its root."""
    ids: list[str] = []
    current = folder_id
    while current not in ROOT_NAMES and len(ids) <= MAX_PATH_BYTES:
        ids.append(current)
        parent = session.scalar(
            select(DataEntry.parent_id).where(
                DataEntry.id == current, DataEntry.tenant_id == tenant_id
            )
        )
        if parent is None:
            break
        current = parent
    return ids


def _checked(parent_names: Sequence[str], name: str, below: int = 0) -> str:
    """`name` checked as a child of `parent_names`; `below` is the longest path (bytes)
    inside the entry when it is a folder, which must still fit the limit."""
    try:
        normal = check_path(parent_names, name)
    except NameRuleError as error:
        raise InvalidInput(f"name: {error}") from None
    if below:
        size = len("/".join([*parent_names, normal]).encode()) + 1 + below
        if size > MAX_PATH_BYTES:
            raise InvalidInput(
                f"name: a path inside the folder would be {size} bytes; at most {MAX_PATH_BYTES}"
            )
    return normal


def _check_free(
    session: Session, tenant_id: str, parent_id: str, name: str, moving: str | None = None
) -> None:
    clash = session.scalar(
        select(DataEntry.id).where(
            DataEntry.tenant_id == tenant_id,
            DataEntry.parent_id == parent_id,
            DataEntry.name == name,
        )
    )
    if clash is not None and clash != moving:
        raise Conflict(f"the folder {parent_id!r} already holds an entry named {name!r}")


def _relocate(
    session: Session, row: DataEntry, name: str | None, parent_id: str | None, modified_by: str
) -> None:
    """Rename and/or move `row` after every check; nothing changes when one fails."""
    target_parent = row.parent_id if parent_id is None else parent_id
    target_name = row.name if name is None else name
    moving_folder = row.is_directory and parent_id is not None
    if moving_folder and row.id in _ancestors(session, row.tenant_id, target_parent):
        raise InvalidInput("parentId: a folder cannot be moved into itself or a folder below it")
    names = _parent_names(session, row.tenant_id, target_parent)
    below = _longest_path_below(session, row.tenant_id, row.id) if row.is_directory else 0
    normal = _checked(names, target_name, below)
    _check_free(session, row.tenant_id, target_parent, normal, moving=row.id)
    row.parent_id, row.name = target_parent, normal
    _touch(row, modified_by)
    session.flush()


def _lock_moves(session: Session, tenant_id: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:class_id, hashtext(:tenant))"),
            {"class_id": _MOVE_LOCK_CLASS, "tenant": tenant_id},
        )


def _children_of(session: Session, tenant_id: str, parent_ids: list[str]) -> list[DataEntry]:
    rows: list[DataEntry] = []
    for start in range(0, len(parent_ids), 500):
        rows += session.scalars(
            select(DataEntry).where(
                DataEntry.tenant_id == tenant_id,
                DataEntry.parent_id.in_(parent_ids[start : start + 500]),
            )
        )
    return rows


def _longest_path_below(session: Session, tenant_id: str, folder_id: str) -> int:
    """Bytes of the longest relative path inside a folder (`a/b/c`), 0 when empty."""
    longest = 0
    level = {folder_id: 0}
    while level:
        next_level: dict[str, int] = {}
        for row in _children_of(session, tenant_id, list(level)):
            size = level[row.parent_id] + len(row.name.encode())
            longest = max(longest, size)
            if row.is_directory:
                next_level[row.id] = size + 1
        level = next_level
    return longest


def _has_children(session: Session, tenant_id: str, folder_id: str) -> bool:
    child = session.scalar(
        select(DataEntry.id)
        .where(DataEntry.tenant_id == tenant_id, DataEntry.parent_id == folder_id)
        .limit(1)
    )
    return child is not None


def _lock_subtree(session: Session, tenant_id: str, folder_id: str) -> list[str]:
    """Lock every folder below `folder_id`, level by level; return them with it.

    Each level is a new statement, so it sees entries committed by writers that held
    a folder of the level before: nothing can slip into a folder being deleted."""
    folders = [folder_id]
    level = [folder_id]
    while level:
        found: list[str] = []
        for start in range(0, len(level), 500):
            found += session.scalars(
                select(DataEntry.id)
                .where(
                    DataEntry.tenant_id == tenant_id,
                    DataEntry.parent_id.in_(level[start : start + 500]),
                    DataEntry.is_directory.is_(True),
                )
                .with_for_update()
            )
        folders += found
        level = found
    return folders


def _delete_under(session: Session, tenant_id: str, folders: list[str]) -> list[str]:
    """Delete every entry inside the given folders; return the blob keys of their files."""
    keys: list[str] = []
    for start in range(0, len(folders), 500):
        inside = (
            DataEntry.tenant_id == tenant_id,
            DataEntry.parent_id.in_(folders[start : start + 500]),
        )
        keys += session.scalars(
            select(DataEntry.blob_key).where(*inside, DataEntry.blob_key.is_not(None))
        )
        session.execute(delete(DataEntry).where(*inside))
    return [key for key in keys if key]


def _split_path(relative_path: str) -> list[str]:
    parts = relative_path.split("/")
    for part in parts:
        try:
            check_name(part)
        except NameRuleError as error:
            raise InvalidInput(f"path {relative_path!r}: {error}") from None
    return parts


def _put_entry(
    session: Session, tenant_id: str, parent_id: str, parts: list[str], modified_by: str
) -> tuple[DataEntry, str | None]:
    """The file row at `parts` below `parent_id` (made if missing, with its folders),
    and the blob key it pointed to before (None for a new file)."""
    try:
        names = _parent_names(session, tenant_id, parent_id)
    except InvalidInput:
        raise NotFound("directory", parent_id) from None
    folder = parent_id
    for index, part in enumerate(parts):
        normal = _checked(names, part)
        is_last = index == len(parts) - 1
        row = session.scalar(
            select(DataEntry)
            .where(
                DataEntry.tenant_id == tenant_id,
                DataEntry.parent_id == folder,
                DataEntry.name == normal,
            )
            .with_for_update(read=not is_last)
        )
        if row is None:
            row = _new_entry(tenant_id, folder, normal, not is_last, modified_by)
            session.add(row)
            session.flush()
            if is_last:
                return row, None
        elif row.is_directory == is_last:
            kind = "a folder" if row.is_directory else "a file"
            raise Conflict(f"{'/'.join(parts[: index + 1])!r} is {kind} already")
        elif is_last:
            old_key = row.blob_key
            _touch(row, modified_by)
            return row, old_key
        names.append(normal)
        folder = row.id
    raise AssertionError("unreachable")


def _file(row: DataEntry) -> FileRecord:
    return FileRecord(
        id=row.id,
        parent_id=row.parent_id,
        name=row.name,
        type=row.type,
        size_in_bytes=row.size_in_bytes,
        modified_date=row.modified_date,
        modified_by=row.modified_by,
        blob_key=row.blob_key or "",
    )


def _directory(row: DataEntry) -> DirectoryRecord:
    return DirectoryRecord(
        id=row.id,
        parent_id=row.parent_id,
        name=row.name,
        modified_date=row.modified_date,
        modified_by=row.modified_by,
    )
