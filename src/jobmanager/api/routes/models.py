"""`/api/modelmanagement/v3`: models, their versions and payloads (SPEC §2).

One URL serves a version's metadata and its payload: a request with
`Content-Type: application/octet-stream` (what the official client sends to
download) or `Accept: application/octet-stream` gets the payload bytes, streamed
from the blob; any other request gets the version's JSON. `versions/last` stands
for the newest version wherever a version id goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.errors import error_responses
from jobmanager.api.multipart import MultipartUpload, read_multipart, streams_upload
from jobmanager.api.openapi import multipart_upload
from jobmanager.api.paging import PageDep, page_info
from jobmanager.api.schemas.models import (
    SORT_PATTERN,
    ModelChange,
    ModelCreate,
    ModelList,
    ModelPublic,
    PagePublic,
    VersionChange,
    VersionCreate,
    VersionList,
    VersionPublic,
    model_filter_schema,
    parse_metadata,
    parse_model_filter,
    parse_sort,
)
from jobmanager.common.chunks import chunks_of
from jobmanager.store.models import ModelFilter, ModelRecord, Payload, VersionRecord
from jobmanager.store.store import Store

router = APIRouter(prefix="/api/modelmanagement/v3", tags=["models"])

M = TypeVar("M", ModelCreate, VersionCreate)
R = TypeVar("R")

LAST = "last"
OCTET_STREAM = "application/octet-stream"


@router.post(
    "/models",
    status_code=201,
    responses=error_responses(413, 507),
    openapi_extra=multipart_upload(ModelCreate),
)
@streams_upload
async def create_model(
    request: Request, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> ModelPublic:
    def save(metadata: ModelCreate, payload: Payload) -> ModelRecord:
        model = metadata.to_spec(caller.client_id)
        version = metadata.lastVersion.to_spec(caller.client_id)
        return store.models.create(caller.tenant_id, model, version, payload)

    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    return ModelPublic.of(await save_upload(upload, ModelCreate, save))


class ModelFilterQuery:
    """The `filter` parameter of the model list; a bad one answers 400."""

    name = "Model"

    def __call__(self, filter: Annotated[str | None, Query()] = None) -> ModelFilter:
        return parse_model_filter(filter)

    def schemas(self) -> dict[str, dict[str, Any]]:
        return {"ModelFilter": model_filter_schema()}


def name_descending(
    sort: Annotated[str | None, Query(json_schema_extra={"pattern": SORT_PATTERN})] = None,
) -> bool:
    """The `sort` parameter of the model list: True for names descending."""
    return parse_sort(sort)


ModelFilterDep = Annotated[ModelFilter, Depends(ModelFilterQuery())]
DescendingDep = Annotated[bool, Depends(name_descending)]


@router.get("/models")
def list_models(
    caller: CallerDep,
    store: StoreDep,
    page: PageDep,
    flt: ModelFilterDep,
    descending: DescendingDep,
) -> ModelList:
    records, total = store.models.list_page(
        caller.tenant_id, offset=page.offset, limit=page.size, flt=flt, descending=descending
    )
    models = [ModelPublic.of(record) for record in records]
    return ModelList(models=models, page=PagePublic(**page_info(page, total)))


@router.get("/models/{model_id}", responses=error_responses(404))
def get_model(model_id: str, caller: CallerDep, store: StoreDep) -> ModelPublic:
    return ModelPublic.of(store.models.get(caller.tenant_id, model_id))


@router.patch("/models/{model_id}", responses=error_responses(404, 413, 507))
def change_model(
    model_id: str, body: ModelChange, caller: CallerDep, store: StoreDep
) -> ModelPublic:
    return ModelPublic.of(store.models.update(caller.tenant_id, model_id, body.changes()))


@router.delete("/models/{model_id}", status_code=204, responses=error_responses(404, 409))
def delete_model(model_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.models.delete(caller.tenant_id, model_id)
    return Response(status_code=204)


@router.post(
    "/models/{model_id}/versions",
    status_code=201,
    responses=error_responses(404, 413, 507),
    openapi_extra=multipart_upload(VersionCreate),
)
@streams_upload
async def create_version(
    model_id: str, request: Request, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> VersionPublic:
    def save(metadata: VersionCreate, payload: Payload) -> VersionRecord:
        version = metadata.to_spec(caller.client_id)
        return store.models.add_version(caller.tenant_id, model_id, version, payload)

    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    return VersionPublic.of(await save_upload(upload, VersionCreate, save))


@router.get("/models/{model_id}/versions", responses=error_responses(404))
def list_versions(model_id: str, caller: CallerDep, store: StoreDep, page: PageDep) -> VersionList:
    records, total = store.models.list_versions(
        caller.tenant_id, model_id, offset=page.offset, limit=page.size
    )
    versions = [VersionPublic.of(record) for record in records]
    return VersionList(versions=versions, page=PagePublic(**page_info(page, total)))


@router.get(
    "/models/{model_id}/versions/{version_id}",
    response_model=VersionPublic,
    responses=error_responses(404),
)
def get_version(
    model_id: str, version_id: str, request: Request, caller: CallerDep, store: StoreDep
) -> Response | VersionPublic:
    record = store.models.get_version(caller.tenant_id, model_id, _version_ref(version_id))
    if not _wants_payload(request):
        return VersionPublic.of(record)
    return payload_download(store, record)


def payload_download(store: Store, record: VersionRecord) -> StreamingResponse:
    """A version's payload, streamed from its blob, saved under its own name."""
    handle = store.blobs.open(record.payload_key)
    headers = {
        "Content-Length": str(record.payload_size),
        "Content-Disposition": _attachment(record.payload_filename or record.id),
    }
    return StreamingResponse(
        chunks_of(handle), media_type=record.payload_media_type, headers=headers
    )


@router.get(
    "/models/{model_id}/versions/last",
    response_model=VersionPublic,
    responses=error_responses(404, 413),
)
def get_last_version(
    model_id: str, request: Request, caller: CallerDep, store: StoreDep
) -> Response | VersionPublic:
    """The newest version: `versions/{version_id}` serves it, this lists it in the document."""
    return get_version(model_id, LAST, request, caller, store)


@router.delete(
    "/models/{model_id}/versions/last", status_code=204, responses=error_responses(404, 409, 413)
)
def delete_last_version(model_id: str, caller: CallerDep, store: StoreDep) -> Response:
    return delete_version(model_id, LAST, caller, store)


@router.patch("/models/{model_id}/versions/last", responses=error_responses(404, 413, 507))
def change_last_version(
    model_id: str, body: VersionChange, caller: CallerDep, store: StoreDep
) -> VersionPublic:
    record = store.models.update_last_version(caller.tenant_id, model_id, body.changes())
    return VersionPublic.of(record)


@router.delete(
    "/models/{model_id}/versions/{version_id}", status_code=204, responses=error_responses(404, 409)
)
def delete_version(model_id: str, version_id: str, caller: CallerDep, store: StoreDep) -> Response:
    store.models.delete_version(caller.tenant_id, model_id, _version_ref(version_id))
    return Response(status_code=204)


async def save_upload(
    upload: MultipartUpload, schema: type[M], save: Callable[[M, Payload], R]
) -> R:
    """Check the `metadata` part, then store the record (in a worker thread).

    Any failure deletes the uploaded blob, so a rejected upload leaves nothing behind.
    """
    with upload.discard_on_error():
        metadata = parse_metadata(schema, upload.metadata)
        payload = Payload(
            key=upload.blob_key,
            size=upload.size,
            filename=upload.filename,
            media_type=upload.content_type,
        )
        return await run_in_threadpool(save, metadata, payload)


def _version_ref(version_id: str) -> str | None:
    return None if version_id == LAST else version_id


def _wants_payload(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    accept = request.headers.get("accept", "")
    return content_type.split(";")[0].strip().lower() == OCTET_STREAM or OCTET_STREAM in accept


def _attachment(filename: str) -> str:
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
