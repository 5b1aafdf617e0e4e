"""`jobmanager data`: folders and files in Data Exchange, up and down recursively.

A FOLDER is an id or a path from a root: `public/inputs/day1`, `private/runs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobmanager.cli.login import session
from jobmanager.cli.output import (
    JsonOption,
    Transfer,
    error,
    print_json,
    print_table,
    say,
    size,
)
from jobmanager.client import Client, Directory, Entry, File
from jobmanager.client.folders import (
    download_tree,
    is_path,
    local_files,
    resolve,
    resolve_folder,
    upload_tree,
    walk,
)

app = typer.Typer(
    help="Data Exchange: folders and files (FOLDER = id or public/... path).", no_args_is_help=True
)

FolderArgument = Annotated[str, typer.Argument(help="Folder id, or a path like public/inputs")]


def folder_of(api: Client, folder: str, *, create: bool = False) -> Directory:
    try:
        return resolve_folder(api, folder, create=create)
    except ValueError as problem:
        error(str(problem), "Name a folder by its id or as public/... or private/...")


def upload_folder(api: Client, local: Path, folder: Directory) -> tuple[int, int]:
    """Upload a local folder's files into `folder` with a progress bar; (files, bytes)."""
    files = local_files(local)
    total = sum(path.stat().st_size for path in files)
    with Transfer("upload", total) as transfer:
        upload_tree(api, local, folder.id, on_file=transfer.file, progress=transfer.advance)
    return len(files), total


def download_folder(api: Client, folder: Directory, local: Path) -> tuple[int, int]:
    """Download every file below `folder` into `local` with a progress bar; (files, bytes)."""
    remote = list(walk(api, folder.id))
    total = sum(item.file.size_in_bytes for item in remote)
    with Transfer("download", total) as transfer:
        download_tree(api, folder.id, local, on_file=transfer.file, progress=transfer.advance)
    return len(remote), total


@app.command("upload")
def upload(
    local_dir: Annotated[Path, typer.Argument(help="Local folder (or one file) to upload")],
    folder: FolderArgument,
) -> None:
    """Upload a local folder's content (recursively) into FOLDER, created if missing."""
    if not local_dir.exists():
        error(f"no such file or folder: {local_dir}", "Check the local path")
    with session() as api:
        target = folder_of(api, folder, create=is_path(folder))
        if local_dir.is_file():
            api.upload_file(target.id, local_dir)
            count, total = 1, local_dir.stat().st_size
        else:
            count, total = upload_folder(api, local_dir, target)
    say(f"uploaded {count} files ({size(total)}) to {folder} (folder id {target.id})")


def entry_of(api: Client, target: str) -> Entry:
    try:
        return resolve(api, target)
    except ValueError as problem:
        error(str(problem), "Name it by its id or as public/... or private/...")


@app.command("download")
def download(
    folder: Annotated[str, typer.Argument(help="Folder (or file): id or path")], local_dir: Path
) -> None:
    """Download everything below FOLDER (recursively) into LOCAL_DIR."""
    if local_dir.exists() and not local_dir.is_dir():
        error(f"{local_dir} exists and is not a folder", "Name a folder to download into")
    with session() as api:
        entry = entry_of(api, folder)
        if isinstance(entry, Directory):
            count, total = download_folder(api, entry, local_dir)
        else:
            with Transfer("download", entry.size_in_bytes) as transfer:
                transfer.file(entry.name, entry.size_in_bytes)
                api.download_file(entry.id, local_dir / entry.name, progress=transfer.advance)
            count, total = 1, entry.size_in_bytes
    say(f"downloaded {count} files ({size(total)}) to {local_dir}")


@app.command("ls")
def ls(
    folder: Annotated[str, typer.Argument(help="Folder id or path")] = "public",
    json_: JsonOption = False,
) -> None:
    """List a folder's sub-folders and files."""
    with session() as api:
        entries = list(api.iter_directory(folder_of(api, folder).id))
    if json_:
        print_json(entries)
        return
    print_table(
        ("type", "name", "id", "size", "modified"),
        (
            (
                "dir" if isinstance(entry, Directory) else "file",
                entry.name,
                entry.id,
                size(entry.size_in_bytes) if isinstance(entry, File) else "",
                entry.modified_date,
            )
            for entry in entries
        ),
        f"{folder} is empty",
    )


@app.command("mkdir")
def mkdir(folder: Annotated[str, typer.Argument(help="A path like public/inputs/day1")]) -> None:
    """Create a folder and any missing parents."""
    with session() as api:
        made = folder_of(api, folder, create=True)
    say(f"{folder}: folder id {made.id}")


@app.command("rm")
def rm(
    target: Annotated[str, typer.Argument(help="File or folder: id or path")],
    recursive: Annotated[
        bool, typer.Option("--recursive", "-r", help="Delete a folder with its content")
    ] = False,
) -> None:
    """Delete a file, or a folder (a non-empty one with --recursive)."""
    with session() as api:
        entry = entry_of(api, target)
        if isinstance(entry, File):
            api.delete_file(entry.id)
        elif entry.parent_id is None or entry.id.startswith("_"):
            error(f"{target} is a root folder and cannot be deleted")
        else:
            if not recursive and any(True for _ in api.iter_directory(entry.id, page_size=1)):
                error(f"folder {target} is not empty", "Add --recursive to delete its content too")
            api.delete_directory(entry.id, recursive=recursive)
    say(f"deleted {target}")
