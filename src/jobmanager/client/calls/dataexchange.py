"""`/api/dataexchange/v3`: files and directories."""

from __future__ import annotations

from typing import Any

from jobmanager.client.call import (
    Call,
    ProgressCallback,
    Sink,
    Upload,
    no_content,
    parse_as,
    parse_page,
)
from jobmanager.client.calls import (
    DEFAULT_PAGE_SIZE,
    FilterArgument,
    filter_text,
    given,
    page_params,
    segment,
)
from jobmanager.client.calls.models import Source
from jobmanager.client.types import Directory, Entry, File, ListPage

BASE = "/api/dataexchange/v3"


def upload_file(
    parent_id: str,
    source: Source,
    *,
    name: str | None = None,
    type: str | None = None,
    progress: ProgressCallback | None = None,
) -> Call[File]:
    """A new file in folder `parent_id`, its content streamed from a path or binary file."""
    upload = Upload.of(source, name, progress)
    metadata = given(name=upload.filename, parentId=parent_id, type=type)
    return Call("POST", f"{BASE}/files", parse_as(File), upload=upload, metadata=metadata)


def download_file(
    file_id: str, destination: Source, *, progress: ProgressCallback | None = None
) -> Call[int]:
    """Stream a file's bytes into `destination` (a path or a binary file); the size."""
    sink = Sink(destination, progress)
    return Call("GET", f"{BASE}/files/{segment(file_id)}", lambda _r: sink.size, sink=sink)


def replace_file(
    file_id: str, source: Source, *, progress: ProgressCallback | None = None
) -> Call[File]:
    """Replace a file's content (streamed)."""
    upload = Upload.of(source, None, progress)
    return Call("PUT", f"{BASE}/files/{segment(file_id)}", parse_as(File), upload=upload)


def delete_file(file_id: str) -> Call[None]:
    """Delete a file."""
    return Call("DELETE", f"{BASE}/files/{segment(file_id)}", no_content)


def get_file(file_id: str) -> Call[File]:
    """A file's properties."""
    return Call("GET", f"{BASE}/files/{segment(file_id)}/properties", parse_as(File))


def update_file(
    file_id: str, *, name: str | None = None, parent_id: str | None = None
) -> Call[File]:
    """Rename a file or move it to another folder."""
    body = given(name=name, parentId=parent_id)
    return Call("PATCH", f"{BASE}/files/{segment(file_id)}/properties", parse_as(File), json=body)


def create_directory(name: str, parent_id: str) -> Call[Directory]:
    """A new folder."""
    body = {"name": name, "parentId": parent_id}
    return Call("POST", f"{BASE}/directories", parse_as(Directory), json=body)


def get_directory(directory_id: str) -> Call[Directory]:
    """A folder's properties."""
    path = f"{BASE}/directories/{segment(directory_id)}/properties"
    return Call("GET", path, parse_as(Directory))


def update_directory(
    directory_id: str, *, name: str | None = None, parent_id: str | None = None
) -> Call[Directory]:
    """Rename a folder or move it."""
    path = f"{BASE}/directories/{segment(directory_id)}/properties"
    return Call("PATCH", path, parse_as(Directory), json=given(name=name, parentId=parent_id))


def list_directory(
    directory_id: str,
    filter: FilterArgument = None,
    *,
    page_number: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Call[ListPage[Entry]]:
    """One page of a folder's content: its sub-folders first, then its files."""
    params = page_params(page_number, page_size, filter=filter_text(filter))
    return Call(
        "GET",
        f"{BASE}/directories/{segment(directory_id)}",
        _parse_content,
        params=params,
    )


_parse_directories = parse_page(Directory, "directories")
_parse_files = parse_page(File, "files")


def _parse_content(response: Any) -> ListPage[Entry]:
    directories = _parse_directories(response)
    files = _parse_files(response)
    return ListPage(items=[*directories.items, *files.items], page=directories.page)


def delete_directory(directory_id: str, *, recursive: bool = False) -> Call[None]:
    """Delete a folder; a non-empty one needs `recursive=True`."""
    params = {"recursive": "true" if recursive else "false"}
    return Call("DELETE", f"{BASE}/directories/{segment(directory_id)}", no_content, params=params)
