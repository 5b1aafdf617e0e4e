"""`/api/dataexchange/v3`: files and directories of the caller's tenant (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.filtering import FilterQuery
from jobmanager.api.multipart import read_multipart, streams_upload
from jobmanager.api.openapi import multipart_upload
from jobmanager.api.paging import PageDep
from jobmanager.api.schemas.dataexchange import (
    FILE_BYTES,
    DirectoryContentPublic,
    DirectoryCreate,
    DirectoryPublic,
    EntryChange,
    FileMetadata,
    FilePublic,
    download_headers,
    download_media_type,
    file_metadata,
)
from jobmanager.common.chunks import chunks_of
from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.filters import Filter
from jobmanager.store.dataexchange import LISTING_FIELDS

router = APIRouter(prefix="/api/dataexchange/v3", tags=["dataexchange"])
# What `_flag` accepts.
FLAG_PATTERN = r"^\s*(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])?\s*$"
ListingFilterDep = Annotated[Filter, Depends(FilterQuery("Listing", LISTING_FIELDS))]


@router.post(
    "/files",
    status_code=201,
    responses=error_responses(409, 413, 507),
    openapi_extra=multipart_upload(FileMetadata),
)
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
            content=upload.content,
            type=metadata.media_type,
            modified_by=caller.client_id,
        )
    return FilePublic.of(record)


@router.get(
    "/files/{file_id}",
    response_class=StreamingResponse,
    responses={200: FILE_BYTES, **error_responses(404)},
)
def download_file(file_id: str, caller: CallerDep, store: StoreDep) -> StreamingResponse:
    record, handle = store.dataexchange.open_file(caller.tenant_id, file_id)
    return StreamingResponse(
        chunks_of(handle),
        media_type=download_media_type(record.type),
        headers=download_headers(record.name, record.size_in_bytes),
    )


@router.put(
    "/files/{file_id}",
    responses=error_responses(404, 409, 413, 507),
    openapi_extra=multipart_upload(),
)
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
            content=upload.content,
            modified_by=caller.client_id,
        )
    return FilePublic.of(record)


@router.delete("/files/{file_id}", status_code=204, responses=error_responses(404, 409))
def delete_file(file_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.dataexchange.delete_file(caller.tenant_id, file_id)
    return Response(status_code=204)


@router.get("/files/{file_id}/properties", responses=error_responses(404))
def file_properties(file_id: str, caller: CallerDep, store: StoreDep) -> FilePublic:
    return FilePublic.of(store.dataexchange.get_file(caller.tenant_id, file_id))


@router.patch("/files/{file_id}/properties", responses=error_responses(404, 409, 413, 507))
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


@router.post("/directories", status_code=201, responses=error_responses(409, 413, 507))
def create_directory(body: DirectoryCreate, caller: CallerDep, store: StoreDep) -> DirectoryPublic:
    record = store.dataexchange.create_directory(
        caller.tenant_id, body.parentId, body.name, modified_by=caller.client_id
    )
    return DirectoryPublic.of(record)


@router.get("/directories/{directory_id}/properties", responses=error_responses(404))
def directory_properties(directory_id: str, caller: CallerDep, store: StoreDep) -> DirectoryPublic:
    return DirectoryPublic.of(store.dataexchange.get_directory(caller.tenant_id, directory_id))


@router.patch(
    "/directories/{directory_id}/properties", responses=error_responses(404, 409, 413, 507)
)
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


@router.get("/directories/{directory_id}", responses=error_responses(404))
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


@router.delete("/directories/{directory_id}", status_code=204, responses=error_responses(404, 409))
def delete_directory(
    directory_id: str,
    caller: CallerDep,
    store: StoreDep,
    recursive: Annotated[str | None, Query(json_schema_extra={"pattern": FLAG_PATTERN})] = None,
) -> Response:
    store.dataexchange.delete_directory(
        caller.tenant_id, directory_id, recursive=_flag("recursive", recursive)
    )
    return Response(status_code=204)


def _flag(name: str, raw: str | None) -> bool:
    """A true/false query flag (`FLAG_PATTERN`): blank is false, any case."""
    if raw is None or raw.strip().lower() in ("", "false"):
        return False
    if raw.strip().lower() == "true":
        return True
    raise InvalidInput(f"{name} must be true or false, got {raw[:40]!r}")
