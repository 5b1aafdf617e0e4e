"""Data Exchange folders by path, and whole folder trees up and down (blocking client).

A folder is named by its id or by a path from a root: `public/inputs/day1` or
`private/runs` (`public` is `_PUBLIC_ROOT_ID`, `private` is `_PRIVATE_ROOT_ID`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jobmanager.client.call import ProgressCallback
from jobmanager.client.errors import NotFoundError
from jobmanager.client.sync import Client
from jobmanager.client.types import PRIVATE_ROOT_ID, PUBLIC_ROOT_ID, Directory, Entry, File

ROOTS = {"public": PUBLIC_ROOT_ID, "private": PRIVATE_ROOT_ID}
FileCallback = Callable[[str, int], None]
"""Called with a file's relative path and size before it is transferred."""


def is_path(text: str) -> bool:
    """True for `public/...` or `private/...` (a path), False for an id."""
    first = text.strip("/").split("/", 1)[0]
    return first in ROOTS


def split_path(text: str) -> tuple[str, list[str]]:
    """The root id and the names below it."""
    parts = [part for part in text.strip().strip("/").split("/") if part]
    if not parts or parts[0] not in ROOTS:
        raise ValueError(f"a folder path starts with public/ or private/, got {text!r}")
    return ROOTS[parts[0]], parts[1:]


def child(api: Client, parent_id: str, name: str) -> Entry | None:
    """The entry named `name` in a folder, if any."""
    return next((entry for entry in api.iter_directory(parent_id) if entry.name == name), None)


def resolve(api: Client, folder: str, *, create: bool = False) -> Entry:
    """The file or folder named by an id or a path; `create` makes missing folders.

    Raises `NotFoundError` when it does not exist (and `create` is False)."""
    if not is_path(folder):
        try:
            return api.get_directory(folder)
        except NotFoundError:
            return api.get_file(folder)
    root_id, names = split_path(folder)
    entry: Entry = api.get_directory(root_id)
    for index, name in enumerate(names):
        if not isinstance(entry, Directory):
            raise NotFoundError(
                404, "jobmanager.notFound", f"{entry.name!r} is a file, not a folder"
            )
        found = child(api, entry.id, name)
        if found is None and create:
            found = api.create_directory(name, entry.id)
        if found is None:
            missing = "/".join(folder.strip("/").split("/")[: index + 2])
            raise NotFoundError(404, "jobmanager.notFound", f"folder {missing!r} not found")
        entry = found
    return entry


def resolve_folder(api: Client, folder: str, *, create: bool = False) -> Directory:
    """Like `resolve`, for a folder only."""
    entry = resolve(api, folder, create=create)
    if not isinstance(entry, Directory):
        raise NotFoundError(404, "jobmanager.notFound", f"{folder!r} is a file, not a folder")
    return entry


@dataclass(frozen=True)
class RemoteFile:
    path: PurePosixPath
    file: File


def walk(
    api: Client, folder_id: str, prefix: PurePosixPath = PurePosixPath()
) -> Iterator[RemoteFile]:
    """Every file below a folder, with its path relative to it."""
    for entry in list(api.iter_directory(folder_id)):
        if entry.name in ("", ".", "..") or "/" in entry.name or "\\" in entry.name:
            raise ValueError(f"refusing the unsafe name {entry.name!r} in folder {folder_id}")
        if isinstance(entry, Directory):
            yield from walk(api, entry.id, prefix / entry.name)
        else:
            yield RemoteFile(prefix / entry.name, entry)


def local_files(local: Path) -> list[Path]:
    """The files below a local folder, sorted, as the upload will send them."""
    return sorted(path for path in local.rglob("*") if path.is_file())


def upload_tree(
    api: Client,
    local: Path,
    folder_id: str,
    *,
    on_file: FileCallback | None = None,
    progress: ProgressCallback | None = None,
) -> list[File]:
    """Upload a local folder's content into a remote folder, keeping sub-folders.

    A remote file of the same name is replaced, so a repeated upload converges."""
    uploaded: list[File] = []
    folders: dict[Path, str] = {local: folder_id}
    existing: dict[str, dict[str, Entry]] = {}
    for path in local_files(local):
        parent_id = _remote_folder(api, local, path.parent, folders, existing)
        relative = path.relative_to(local).as_posix()
        if on_file is not None:
            on_file(relative, path.stat().st_size)
        present = existing[parent_id].get(path.name)
        if isinstance(present, File):
            uploaded.append(api.replace_file(present.id, path, progress=progress))
        else:
            uploaded.append(api.upload_file(parent_id, path, progress=progress))
    return uploaded


def _remote_folder(
    api: Client,
    local: Path,
    directory: Path,
    folders: dict[Path, str],
    existing: dict[str, dict[str, Entry]],
) -> str:
    """The remote folder id for a local directory, created (or found) on first use."""
    if directory not in folders:
        parent_id = _remote_folder(api, local, directory.parent, folders, existing)
        present = existing[parent_id].get(directory.name)
        if not isinstance(present, Directory):
            present = api.create_directory(directory.name, parent_id)
        folders[directory] = present.id
    folder_id = folders[directory]
    if folder_id not in existing:
        existing[folder_id] = {entry.name: entry for entry in api.iter_directory(folder_id)}
    return folder_id


def download_tree(
    api: Client,
    folder_id: str,
    local: Path,
    *,
    on_file: FileCallback | None = None,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Download every file below a remote folder into `local`, keeping sub-folders."""
    written: list[Path] = []
    for remote in walk(api, folder_id):
        target = local.joinpath(*remote.path.parts)
        if on_file is not None:
            on_file(remote.path.as_posix(), remote.file.size_in_bytes)
        api.download_file(remote.file.id, target, progress=progress)
        written.append(target)
    return written
