"""`/api/dataexchange/v3`: files and directories of the caller's tenant (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from jobmanager.api.body_limit import TOO_LARGE_RESPONSE
from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.filtering import filter_query
from jobmanager.api.multipart import read_multipart, streams_upload
from jobmanager.api.paging import PageDep
from jobmanager.api.schemas.dataexchange import (
    DirectoryContentPublic,
    DirectoryCreate,
    DirectoryPublic,
    EntryChange,
    FilePublic,
    download_headers,
    download_media_type,
    file_metadata,
)
from jobmanager.chunks import chunks_of
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.filters import Filter
from jobmanager.store.dataexchange import LISTING_FIELDS

router = APIRouter(prefix="/api/dataexchange/v3", tags=["dataexchange"])
ListingFilterDep = Annotated[Filter, Depends(filter_query(LISTING_FIELDS))]


@router.post("/files", status_code=201, responses=TOO_LARGE_RESPONSE)
@streams_upload
async def upload_file(
    request: Request, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> FilePublic:
    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    with upload.discard_on_error():
        metadata, name = file_metadata(upload.metadata, upload.filename)
        record = await run_in_threadpool(
            store.dataexchange.create_file,
            caller.tenant_id,
            metadata.parentId,
            name,
            blob_key=upload.blob_key,
            size=upload.size,
            type=metadata.media_type,
            modified_by=caller.client_id,
        )
    return FilePublic.of(record)


@router.get("/files/{file_id}")
def download_file(file_id: str, caller: CallerDep, store: StoreDep) -> StreamingResponse:
    record, handle = store.dataexchange.open_file(caller.tenant_id, file_id)
    return StreamingResponse(
        chunks_of(handle),
        media_type=download_media_type(record),
        headers=download_headers(record),
    )


@router.put("/files/{file_id}", responses=TOO_LARGE_RESPONSE)
@streams_upload
async def replace_file(
    file_id: str, request: Request, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> FilePublic:
    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    with upload.discard_on_error():
        record = await run_in_threadpool(
            store.dataexchange.replace_file,
            caller.tenant_id,
            file_id,
            blob_key=upload.blob_key,
            size=upload.size,
            modified_by=caller.client_id,
        )
    return FilePublic.of(record)


@router.delete("/files/{file_id}", status_code=204)
def delete_file(file_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.dataexchange.delete_file(caller.tenant_id, file_id)
    return Response(status_code=204)


@router.get("/files/{file_id}/properties")
def file_properties(file_id: str, caller: CallerDep, store: StoreDep) -> FilePublic:
    return FilePublic.of(store.dataexchange.get_file(caller.tenant_id, file_id))


@router.patch("/files/{file_id}/properties", responses=TOO_LARGE_RESPONSE)
def change_file(file_id: str, body: EntryChange, caller: CallerDep, store: StoreDep) -> FilePublic:
    record = store.dataexchange.update_file(
        caller.tenant_id,
        file_id,
        name=body.name,
        parent_id=body.parentId,
        type=body.media_type,
        modified_by=caller.client_id,
    )
    return FilePublic.of(record)


@router.post("/directories", status_code=201, responses=TOO_LARGE_RESPONSE)
def create_directory(body: DirectoryCreate, caller: CallerDep, store: StoreDep) -> DirectoryPublic:
    record = store.dataexchange.create_directory(
        caller.tenant_id, body.parentId, body.name, modified_by=caller.client_id
    )
    return DirectoryPublic.of(record)


@router.get("/directories/{directory_id}/properties")
def directory_properties(directory_id: str, caller: CallerDep, store: StoreDep) -> DirectoryPublic:
    return DirectoryPublic.of(store.dataexchange.get_directory(caller.tenant_id, directory_id))


@router.patch("/directories/{directory_id}/properties", responses=TOO_LARGE_RESPONSE)
def change_directory(
    directory_id: str, body: EntryChange, caller: CallerDep, store: StoreDep
) -> DirectoryPublic:
    record = store.dataexchange.update_directory(
        caller.tenant_id,
        directory_id,
        name=body.name,
        parent_id=body.parentId,
        modified_by=caller.client_id,
    )
    return DirectoryPublic.of(record)


@router.get("/directories/{directory_id}")
def list_directory(
    directory_id: str,
    caller: CallerDep,
    store: StoreDep,
    page: PageDep,
    flt: ListingFilterDep,
) -> DirectoryContentPublic:
    entries, total = store.dataexchange.list_directory(
        caller.tenant_id, directory_id, offset=page.offset, limit=page.size, flt=flt
    )
    return DirectoryContentPublic.of(entries, page, total)


@router.delete("/directories/{directory_id}", status_code=204)
def delete_directory(
    directory_id: str,
    caller: CallerDep,
    store: StoreDep,
    recursive: Annotated[str | None, Query()] = None,
) -> Response:
    store.dataexchange.delete_directory(
        caller.tenant_id, directory_id, recursive=_flag("recursive", recursive)
    )
    return Response(status_code=204)


def _flag(name: str, raw: str | None) -> bool:
    if raw is None or raw.strip().lower() in ("", "false"):
        return False
    if raw.strip().lower() == "true":
        return True
    raise InvalidInput(f"{name} must be true or false, got {raw[:40]!r}")
