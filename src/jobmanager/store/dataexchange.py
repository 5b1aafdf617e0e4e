"""Data Exchange (SPEC §3): a tenant's folders and files, their names, and their blobs.

Every tenant has two root folders, `_PUBLIC_ROOT_ID` and `_PRIVATE_ROOT_ID`: they are
ids, not rows. A file's bytes live in a blob; its row points to it. New bytes are always
written to a new blob first; one transaction then swaps the row's pointer and counts the
references (`store/contents.py`: the same bytes are kept once, shared with other files
and with the outputs jobs saved), and a blob nothing refers to any more is deleted only
after that commits, so no reader ever sees a half file.

The full path the 1024-byte limit counts is the names below the root, joined by `/`.

Concurrency. SQLite serialises writers. On PostgreSQL, a write locks the folder it
writes into (`FOR SHARE`) and a folder delete locks the folder and every folder below
it (`FOR UPDATE`, level by level), so an entry is never created inside a folder being
deleted. Moves of folders take a per-tenant advisory lock, so two concurrent moves can
never make a cycle. Two siblings of one name are refused by a unique constraint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, TypeAlias

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from jobmanager.domain.errors import Conflict, InvalidInput, NotFound, TooLarge
from jobmanager.domain.filters import DATETIME, NO_FILTER, STRING, FieldSpec, Filter
from jobmanager.domain.media_types import media_type_of
from jobmanager.store.blobs import BlobStore, BlobTooLarge
from jobmanager.store.contents import (
    NewContent,
    delete_blobs,
    duplicate_of,
    is_referenced,
    reference_in,
    release_in,
    write_content,
)
from jobmanager.store.dataexchange_tree import PRIVATE_ROOT_ID as PRIVATE_ROOT_ID
from jobmanager.store.dataexchange_tree import PUBLIC_ROOT_ID as PUBLIC_ROOT_ID
from jobmanager.store.dataexchange_tree import (
    ROOT_NAMES,
    check_free,
    checked_name,
    conflicts,
    delete_under,
    files_below,
    find_entry,
    folders_below,
    has_children,
    is_deadlock,
    lock_moves,
    lock_subtree,
    new_entry,
    parent_names,
    put_entry,
    relocate,
    split_path,
    touch,
)
from jobmanager.store.db import Database
from jobmanager.store.outputs import OutputOf, record_output_in
from jobmanager.store.query import filter_clause
from jobmanager.store.tables import DataEntry, Tenant
from jobmanager.store.triggers import record_arrival
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.dataexchange")

LISTING_FIELDS: dict[str, FieldSpec] = {"name": STRING, "type": STRING, "modifiedDate": DATETIME}
_LISTING_COLUMNS = {
    "name": DataEntry.name,
    "type": DataEntry.type,
    "modifiedDate": DataEntry.modified_date,
}
_RETRIES = 3  # put_file: attempts when a concurrent writer made the same name first,
# or a deadlock with a concurrent change of the tree chose this transaction


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


# An entry of a folder: a sub-folder or a file.
Entry: TypeAlias = DirectoryRecord | FileRecord


class DataExchangeRepository:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    # ------------------------------------------------------------------ folders

    def create_directory(
        self, tenant_id: str, parent_id: str, name: str, *, modified_by: str = ""
    ) -> DirectoryRecord:
        with conflicts(), self.db.transaction() as session:
            names = parent_names(session, tenant_id, parent_id)
            normal = checked_name(names, name)
            check_free(session, tenant_id, parent_id, normal)
            row = new_entry(tenant_id, parent_id, normal, True, modified_by)
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
        with conflicts(), self.db.transaction() as session:
            if parent_id is not None:
                lock_moves(session, tenant_id)
            row = find_entry(session, tenant_id, directory_id, directory=True, lock=True)
            relocate(session, row, name, parent_id, modified_by)
            return _directory(row)

    def delete_directory(self, tenant_id: str, directory_id: str, *, recursive: bool) -> None:
        """Delete a folder; one that is not empty only with `recursive`."""
        if directory_id in ROOT_NAMES:
            raise InvalidInput(f"the root folder {directory_id} cannot be deleted")
        with conflicts(), self.db.transaction(essential=True) as session:
            row = find_entry(session, tenant_id, directory_id, directory=True, lock=True)
            if not recursive and has_children(session, tenant_id, directory_id):
                raise Conflict(
                    f"folder {directory_id!r} is not empty; delete it with recursive=true"
                )
            folders = lock_subtree(session, tenant_id, directory_id)
            keys = delete_under(session, tenant_id, folders)
            session.delete(row)
            session.flush()
            gone = release_in(session, keys)
        delete_blobs(self.blobs, gone)

    def list_directory(
        self,
        tenant_id: str,
        directory_id: str,
        *,
        offset: int,
        limit: int,
        flt: Filter = NO_FILTER,
    ) -> tuple[list[Entry], int]:
        """One page of a folder, its sub-folders (by name) first, then its files (by name),
        and how many entries match."""
        condition = filter_clause(flt, _LISTING_COLUMNS)
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
            entries = [_directory(r) if r.is_directory else _file(r) for r in rows]
            return entries, int(total or 0)

    def list_tree(self, tenant_id: str, folder_id: str) -> list[tuple[str, FileRecord]]:
        """Every file below a folder (a root too), with its path relative to the folder
        (`a/b/c.txt`), sorted by path, read in one consistent snapshot."""
        with self.db.reading() as session:
            _directory_or_root(session, tenant_id, folder_id)
            found = [(path, _file(row)) for path, row in files_below(session, tenant_id, folder_id)]
        return sorted(found, key=lambda item: item[0])

    def list_folders(self, tenant_id: str) -> list[tuple[str, str]]:
        """Every folder of the tenant as (path from its root, id), sorted by path:
        `public`, `public/inputs`, `private/runs`..."""
        found = [("public", PUBLIC_ROOT_ID), ("private", PRIVATE_ROOT_ID)]
        with self.db.reading() as session:
            for root, root_id in list(found):
                below = folders_below(session, tenant_id, root_id)
                found += [(f"{root}/{path}", folder_id) for path, folder_id in below]
        return sorted(found)

    # ------------------------------------------------------------------ files

    def create_file(
        self,
        tenant_id: str,
        parent_id: str,
        name: str,
        *,
        content: NewContent,
        type: str = "",
        modified_by: str = "",
    ) -> FileRecord:
        """Record an already written blob as a new file (the blob then belongs to the
        store: it is deleted if the same bytes were stored already). On failure the blob
        is the caller's to discard."""
        with conflicts(), self.db.transaction() as session:
            names = parent_names(session, tenant_id, parent_id)
            normal = checked_name(names, name)
            check_free(session, tenant_id, parent_id, normal)
            row = new_entry(tenant_id, parent_id, normal, False, modified_by)
            row.type, row.size_in_bytes = type, content.size
            row.blob_key = reference_in(session, tenant_id, content)
            session.add(row)
            session.flush()
            record_arrival(session, row)
            record = _file(row)
        delete_blobs(self.blobs, duplicate_of(content, record.blob_key))
        return record

    def get_file(self, tenant_id: str, file_id: str) -> FileRecord:
        with self.db.reading() as session:
            return _file(find_entry(session, tenant_id, file_id, directory=False))

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
        self, tenant_id: str, file_id: str, *, content: NewContent, modified_by: str = ""
    ) -> FileRecord:
        """Point a file at a new, already written blob (which then belongs to the store,
        as in `create_file`); the old one is deleted after, unless something else still
        refers to it."""
        with conflicts(), self.db.transaction() as session:
            row = find_entry(session, tenant_id, file_id, directory=False, lock=True)
            old_key = row.blob_key
            row.blob_key = reference_in(session, tenant_id, content)
            row.size_in_bytes = content.size
            touch(row, modified_by)
            session.flush()
            record_arrival(session, row)
            record = _file(row)
            gone = release_in(session, [old_key])
        delete_blobs(self.blobs, [*gone, *duplicate_of(content, record.blob_key)])
        return record

    def update_file(
        self,
        tenant_id: str,
        file_id: str,
        *,
        name: str | None = None,
        parent_id: str | None = None,
        type: str | None = None,
        modified_by: str = "",
    ) -> FileRecord:
        """Rename and/or move a file, and/or change its media type."""
        with conflicts(), self.db.transaction() as session:
            row = find_entry(session, tenant_id, file_id, directory=False, lock=True)
            before = (row.parent_id, row.name)
            relocate(session, row, name, parent_id, modified_by)
            if type is not None:
                row.type = type
            if (row.parent_id, row.name) != before:
                record_arrival(session, row)
            return _file(row)

    def delete_file(self, tenant_id: str, file_id: str) -> None:
        with conflicts(), self.db.transaction(essential=True) as session:
            row = find_entry(session, tenant_id, file_id, directory=False, lock=True)
            key = row.blob_key
            session.delete(row)
            session.flush()
            gone = release_in(session, [key])
        delete_blobs(self.blobs, gone)

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
        output_of: OutputOf | None = None,
    ) -> FileRecord:
        """Write `chunks` to `parent_id/relative_path` (`a/b/c.txt`), making missing
        folders; an existing file of that path is replaced. The bytes go to a new blob
        first, then one transaction makes the folders and swaps the pointer. `type`
        defaults to the media type of the name (`domain.media_types`). With `output_of`,
        the same transaction records the file as an output of that job
        (`store/outputs.py`), which keeps these bytes when a later write replaces them."""
        parts = split_path(relative_path)
        if type is None:
            type = media_type_of(parts[-1])
        try:
            content = write_content(self.blobs, chunks, limit)
        except BlobTooLarge as error:
            raise TooLarge(f"{relative_path!r} is larger than {limit} bytes") from error
        try:
            record, gone = self._put_with_retries(
                tenant_id, parent_id, parts, content, type, modified_by, output_of
            )
        except BaseException:
            self._discard_unreferenced(content.key)
            raise
        delete_blobs(self.blobs, [*gone, *duplicate_of(content, record.blob_key)])
        return record

    def _put_with_retries(
        self,
        tenant_id: str,
        parent_id: str,
        parts: list[str],
        content: NewContent,
        type: str,
        modified_by: str,
        output_of: OutputOf | None,
    ) -> tuple[FileRecord, list[str]]:
        """The file row and its output's, in one transaction; the blobs released."""
        for attempt in range(_RETRIES):
            try:
                with self.db.transaction() as session:
                    row, old_key = put_entry(session, tenant_id, parent_id, parts, modified_by)
                    row.blob_key = reference_in(session, tenant_id, content)
                    row.size_in_bytes, row.type = content.size, type
                    session.flush()
                    record_arrival(session, row)
                    released = [old_key]
                    if output_of is not None:
                        path = "/".join(parts)
                        released += record_output_in(
                            session, tenant_id, output_of, path, content, type
                        )
                    return _file(row), release_in(session, released)
            except (IntegrityError, OperationalError) as error:
                if isinstance(error, OperationalError) and not is_deadlock(error):
                    raise
                if attempt == _RETRIES - 1:
                    raise Conflict(f"{'/'.join(parts)!r} was changed concurrently") from None
        raise AssertionError("unreachable")

    def _discard_unreferenced(self, key: str) -> None:
        """After a failed write: delete its blob unless the write committed after all (a
        connection lost during the commit) — kept, as an orphan, when that is unknown."""
        try:
            with self.db.reading() as session:
                if is_referenced(session, key):
                    return
        except Exception:
            log.exception("blob %s: whether it was stored is unknown; it is kept", key)
            return
        delete_blobs(self.blobs, [key])


def _directory_or_root(session: Session, tenant_id: str, directory_id: str) -> DirectoryRecord:
    if directory_id in ROOT_NAMES:
        created = session.scalar(select(Tenant.created_at).where(Tenant.id == tenant_id))
        return DirectoryRecord(directory_id, "", ROOT_NAMES[directory_id], created or utcnow(), "")
    return _directory(find_entry(session, tenant_id, directory_id, directory=True))


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
