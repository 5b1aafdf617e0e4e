"""The Data Exchange pages: browse a folder, make folders, rename, delete; files upload
by drag and drop (`static/upload.js`, to the API's upload route, with a progress bar)
and download from the API's file route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from jobmanager.api.deps import StoreDep
from jobmanager.api.paging import PageDep
from jobmanager.console.forms import Pager
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.store.dataexchange import (
    PRIVATE_ROOT_ID,
    PUBLIC_ROOT_ID,
    DirectoryRecord,
    Entry,
)
from jobmanager.store.store import Store

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
ROOTS = (("public", PUBLIC_ROOT_ID), ("private", PRIVATE_ROOT_ID))
EntryKind = Literal["file", "folder"]


@dataclass(frozen=True)
class Crumb:
    name: str
    folder_id: str


def folder_url(folder_id: str) -> str:
    return f"/data/folders/{folder_id}"


def breadcrumbs(store: Store, tenant_id: str, folder_id: str) -> list[Crumb]:
    """The folders from the root down to this one, each with its id."""
    ids = dict(store.dataexchange.list_folders(tenant_id))
    path = next((p for p, i in ids.items() if i == folder_id), "")
    parts = path.split("/") if path else []
    return [Crumb(name, ids["/".join(parts[: n + 1])]) for n, name in enumerate(parts)]


@router.get("/data")
def data_home() -> Response:
    return RedirectResponse(folder_url(PUBLIC_ROOT_ID), status_code=303)


@router.get("/data/folders/{folder_id}", response_class=HTMLResponse)
def folder_page(
    folder_id: str, request: Request, caller: ConsoleCaller, store: StoreDep, paging: PageDep
) -> Response:
    folder = store.dataexchange.get_directory(caller.tenant_id, folder_id)
    entries, total = store.dataexchange.list_directory(
        caller.tenant_id, folder_id, offset=paging.offset, limit=paging.size
    )
    return page(
        request,
        "data/folder.html",
        caller=caller,
        active="/data",
        folder=folder,
        roots=ROOTS,
        crumbs=breadcrumbs(store, caller.tenant_id, folder_id),
        entries=entries,
        is_folder=lambda entry: isinstance(entry, DirectoryRecord),
        pager=Pager.of(paging, total, folder_url(folder_id)),
    )


@router.post("/data/folders/{folder_id}/folders", dependencies=XSRF_CHECKED)
def create_folder(
    folder_id: str,
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    name: Annotated[str, Form()],
) -> Response:
    store.dataexchange.create_directory(
        caller.tenant_id, folder_id, name.strip(), modified_by=caller.client_id
    )
    return redirect(request, folder_url(folder_id))


@router.post("/data/entries/{entry_id}/rename", dependencies=XSRF_CHECKED)
def rename_entry(
    entry_id: str,
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    kind: Annotated[EntryKind, Form()],
    name: Annotated[str, Form()],
) -> Response:
    changes = {"name": name.strip(), "modified_by": caller.client_id}
    if kind == "folder":
        record: Entry = store.dataexchange.update_directory(caller.tenant_id, entry_id, **changes)
    else:
        record = store.dataexchange.update_file(caller.tenant_id, entry_id, **changes)
    return redirect(request, folder_url(record.parent_id))


@router.post("/data/entries/{entry_id}/delete", dependencies=XSRF_CHECKED)
def delete_entry(
    entry_id: str,
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    kind: Annotated[EntryKind, Form()],
) -> Response:
    if kind == "folder":
        parent = store.dataexchange.get_directory(caller.tenant_id, entry_id).parent_id
        store.dataexchange.delete_directory(caller.tenant_id, entry_id, recursive=True)
    else:
        parent = store.dataexchange.get_file(caller.tenant_id, entry_id).parent_id
        store.dataexchange.delete_file(caller.tenant_id, entry_id)
    return redirect(request, folder_url(parent))
