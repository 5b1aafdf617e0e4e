"""The folder tree of Data Exchange: paths, name checks, locks, walks and writes.

Helpers of `jobmanager.store.dataexchange`; each takes the open session of one of its
transactions. See that module for the locking scheme they implement.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import CTE, Text, cast, delete, literal, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from jobmanager.domain.errors import Conflict, InvalidInput, NotFound
from jobmanager.domain.names import MAX_PATH_BYTES, NameRuleError, check_name, check_path
from jobmanager.store.tables import DataEntry
from jobmanager.store.types import utcnow

PUBLIC_ROOT_ID = "_PUBLIC_ROOT_ID"
PRIVATE_ROOT_ID = "_PRIVATE_ROOT_ID"
ROOT_NAMES = {PUBLIC_ROOT_ID: "public", PRIVATE_ROOT_ID: "private"}
MOVE_LOCK_CLASS = 7316  # pg_advisory_xact_lock(class, tenant hash) for folder moves


@contextmanager
def conflicts() -> Iterator[None]:
    """A sibling made under the same name concurrently, or a PostgreSQL deadlock between
    two structural changes (or two changes of the counts of shared contents): both are a
    409 the caller may retry."""
    try:
        yield
    except IntegrityError as error:
        raise Conflict("the folder already holds an entry of that name") from error
    except OperationalError as error:
        if is_deadlock(error):
            raise Conflict("the folder was changed concurrently; try again") from error
        raise


def is_deadlock(error: OperationalError) -> bool:
    """A PostgreSQL deadlock or serialization failure: the transaction may simply be retried."""
    return getattr(error.orig, "sqlstate", None) in ("40P01", "40001")


def new_entry(
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


def touch(row: DataEntry, modified_by: str) -> None:
    row.modified_date = utcnow()
    row.modified_by = modified_by


def find_entry(
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


def parent_names(session: Session, tenant_id: str, parent_id: str) -> list[str]:
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


def ancestors(session: Session, tenant_id: str, folder_id: str) -> list[str]:
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


def checked_name(parent_names: Sequence[str], name: str, below: int = 0) -> str:
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


def check_free(
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


def relocate(
    session: Session, row: DataEntry, name: str | None, parent_id: str | None, modified_by: str
) -> None:
    """Rename and/or move `row` after every check; nothing changes when one fails."""
    target_parent = row.parent_id if parent_id is None else parent_id
    target_name = row.name if name is None else name
    moving_folder = row.is_directory and parent_id is not None
    if moving_folder and row.id in ancestors(session, row.tenant_id, target_parent):
        raise InvalidInput("parentId: a folder cannot be moved into itself or a folder below it")
    names = parent_names(session, row.tenant_id, target_parent)
    below = longest_path_below(session, row.tenant_id, row.id) if row.is_directory else 0
    normal = checked_name(names, target_name, below)
    check_free(session, row.tenant_id, target_parent, normal, moving=row.id)
    row.parent_id, row.name = target_parent, normal
    touch(row, modified_by)
    session.flush()


def lock_moves(session: Session, tenant_id: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:class_id, hashtext(:tenant))"),
            {"class_id": MOVE_LOCK_CLASS, "tenant": tenant_id},
        )


def children_of(session: Session, tenant_id: str, parent_ids: list[str]) -> list[DataEntry]:
    rows: list[DataEntry] = []
    for start in range(0, len(parent_ids), 500):
        rows += session.scalars(
            select(DataEntry).where(
                DataEntry.tenant_id == tenant_id,
                DataEntry.parent_id.in_(parent_ids[start : start + 500]),
            )
        )
    return rows


def _folders_below(tenant_id: str, folder_id: str) -> CTE:
    """A recursive statement's rows: the folder (prefix "") and every folder below it,
    each with its path relative to the folder and a trailing `/` (`a/b/`)."""
    start = select(
        cast(literal(folder_id), Text).label("id"), cast(literal(""), Text).label("prefix")
    ).cte("folders", recursive=True)
    step = select(
        cast(DataEntry.id, Text), cast(start.c.prefix + DataEntry.name + "/", Text)
    ).where(
        DataEntry.parent_id == start.c.id,
        DataEntry.tenant_id == tenant_id,
        DataEntry.is_directory.is_(True),
    )
    return start.union_all(step)


def files_below(session: Session, tenant_id: str, folder_id: str) -> list[tuple[str, DataEntry]]:
    """Every file below a folder with its path relative to it (`a/b/c.txt`), read by one
    recursive statement: one consistent snapshot on every backend."""
    folders = _folders_below(tenant_id, folder_id)
    query = (
        select(DataEntry, (folders.c.prefix + DataEntry.name).label("path"))
        .join(folders, DataEntry.parent_id == folders.c.id)
        .where(DataEntry.tenant_id == tenant_id, DataEntry.is_directory.is_(False))
    )
    return [(str(path), row) for row, path in session.execute(query)]


def folders_below(session: Session, tenant_id: str, folder_id: str) -> list[tuple[str, str]]:
    """Every folder below a folder: its path relative to it (`a/b`) and its id."""
    folders = _folders_below(tenant_id, folder_id)
    rows = session.execute(select(folders.c.prefix, folders.c.id).where(folders.c.prefix != ""))
    return [(str(prefix).rstrip("/"), str(folder)) for prefix, folder in rows]


def longest_path_below(session: Session, tenant_id: str, folder_id: str) -> int:
    """Bytes of the longest relative path inside a folder (`a/b/c`), 0 when empty."""
    longest = 0
    level = {folder_id: 0}
    while level:
        next_level: dict[str, int] = {}
        for row in children_of(session, tenant_id, list(level)):
            size = level[row.parent_id] + len(row.name.encode())
            longest = max(longest, size)
            if row.is_directory:
                next_level[row.id] = size + 1
        level = next_level
    return longest


def has_children(session: Session, tenant_id: str, folder_id: str) -> bool:
    child = session.scalar(
        select(DataEntry.id)
        .where(DataEntry.tenant_id == tenant_id, DataEntry.parent_id == folder_id)
        .limit(1)
    )
    return child is not None


def lock_subtree(session: Session, tenant_id: str, folder_id: str) -> list[str]:
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


def delete_under(session: Session, tenant_id: str, folders: list[str]) -> list[str]:
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


def split_path(relative_path: str) -> list[str]:
    """The names of a relative path (`a/b/c.txt`), each checked and normalized."""
    try:
        return [check_name(part) for part in relative_path.split("/")]
    except NameRuleError as error:
        raise InvalidInput(f"path {relative_path!r}: {error}") from None


def put_entry(
    session: Session, tenant_id: str, parent_id: str, parts: list[str], modified_by: str
) -> tuple[DataEntry, str | None]:
    """The file row at `parts` below `parent_id` (made if missing, with its folders),
    and the blob key it pointed to before (None for a new file)."""
    try:
        names = parent_names(session, tenant_id, parent_id)
    except InvalidInput:
        raise NotFound("directory", parent_id) from None
    folder = parent_id
    for index, part in enumerate(parts):
        normal = checked_name(names, part)
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
            row = new_entry(tenant_id, folder, normal, not is_last, modified_by)
            session.add(row)
            session.flush()
            if is_last:
                return row, None
        elif row.is_directory == is_last:
            kind = "a folder" if row.is_directory else "a file"
            raise Conflict(f"{'/'.join(parts[: index + 1])!r} is {kind} already")
        elif is_last:
            old_key = row.blob_key
            touch(row, modified_by)
            return row, old_key
        names.append(normal)
        folder = row.id
    raise AssertionError("unreachable")
