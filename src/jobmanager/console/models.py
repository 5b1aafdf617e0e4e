"""The models pages: the list, a model with its versions, uploads, downloads and deletes.

Uploads (a new model, a new version) go from the page (`static/upload.js`, with a
progress bar) to this module's upload routes, which are the API's (`read_multipart`,
`save_upload`, the API's metadata schemas and JSON errors) but for one rule of the
console's: a model is a note or a notebook. The API stores any payload (SPEC); the
console refuses another file in words naming the kinds it takes, and the store never
keeps it. Before a new model is uploaded, the page asks `/models/named` whether one of
that name exists, and offers a new version of it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from jobmanager.api.deps import CallerDep, SettingsDep, StoreDep
from jobmanager.api.multipart import read_multipart, streams_upload
from jobmanager.api.paging import PageDep
from jobmanager.api.routes.models import payload_download, save_upload
from jobmanager.api.schemas.models import ModelCreate, VersionCreate
from jobmanager.console.forms import Pager
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.domain.errors import InvalidInput
from jobmanager.store.models import ModelFilter, ModelRecord, Payload, inspect_blob
from jobmanager.store.references import RUNNABLE_KINDS
from jobmanager.store.store import Store

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
# The upload routes answer as the API does (JSON errors: upload.js reads them).
uploads = APIRouter(tags=["console"], include_in_schema=False)
MODEL_FILES = ".zpln,.ipynb,.json"
MODEL_KINDS = (
    "a Zeppelin note (.zpln, or a note.json) or a Jupyter notebook (.ipynb, nbformat 4 or 3)"
)


def check_model_file(store: Store, payload: Payload) -> None:
    """A payload a job can run, or InvalidInput naming the kinds the console takes."""
    if inspect_blob(store.blobs, payload.key).kind not in RUNNABLE_KINDS:
        name = payload.filename or "the file"
        raise InvalidInput(f"{name} is not a model a job can run: upload {MODEL_KINDS}")


@uploads.post("/models/upload", status_code=201)
@streams_upload
async def upload_model(
    request: Request, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> dict[str, str]:
    """A new model with its first version (the API's `POST /models`, notes and notebooks
    only); its id."""

    def save(metadata: ModelCreate, payload: Payload) -> ModelRecord:
        check_model_file(store, payload)
        version = metadata.lastVersion.to_spec(caller.client_id)
        model = metadata.to_spec(caller.client_id)
        return store.models.create(caller.tenant_id, model, version, payload)

    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    return {"id": (await save_upload(upload, ModelCreate, save)).id}


@uploads.post("/models/{model_id}/upload", status_code=201)
@streams_upload
async def upload_version(
    model_id: str, request: Request, caller: CallerDep, store: StoreDep, settings: SettingsDep
) -> dict[str, str]:
    """A new version of the model (the API's `POST /models/{id}/versions`, notes and
    notebooks only); the model's id."""

    def save(metadata: VersionCreate, payload: Payload) -> str:
        check_model_file(store, payload)
        version = metadata.to_spec(caller.client_id)
        return store.models.add_version(caller.tenant_id, model_id, version, payload).model_id

    upload = await read_multipart(request, store.blobs, settings.max_upload_bytes)
    return {"id": await save_upload(upload, VersionCreate, save)}


@router.get("/models/named", response_class=HTMLResponse)
def models_named(
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    name: Annotated[str, Query(max_length=255)] = "",
) -> Response:
    """What the upload form offers for a name that models have already: a new version of
    one of them, or a new model of the same name (empty when none has it)."""
    found: list[ModelRecord] = []
    if name.strip():
        flt = ModelFilter(fields={"name": name.strip()})
        listed, _ = store.models.list_page(
            caller.tenant_id, offset=0, limit=20, flt=flt, descending=False
        )
        found = [model for model in listed if model.name.lower() == name.strip().lower()]
    return page(request, "models/named.html", model_name=name.strip(), models=found)


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request, caller: ConsoleCaller, store: StoreDep, paging: PageDep
) -> Response:
    models, total = store.models.list_page(
        caller.tenant_id,
        offset=paging.offset,
        limit=paging.size,
        flt=ModelFilter(),
        descending=False,
    )
    return page(
        request,
        "models/list.html",
        caller=caller,
        active="/models",
        models=models,
        pager=Pager.of(paging, total, "/models"),
        accept=MODEL_FILES,
    )


@router.get("/models/{model_id}", response_class=HTMLResponse)
def model_page(
    model_id: str, request: Request, caller: ConsoleCaller, store: StoreDep, paging: PageDep
) -> Response:
    model = store.models.get(caller.tenant_id, model_id)
    versions, total = store.models.list_versions(
        caller.tenant_id, model_id, offset=paging.offset, limit=paging.size
    )
    return page(
        request,
        "models/model.html",
        caller=caller,
        active="/models",
        model=model,
        versions=versions,
        pager=Pager.of(paging, total, f"/models/{model_id}"),
        accept=MODEL_FILES,
    )


@router.get("/models/{model_id}/versions/{version_id}/payload")
def download_payload(
    model_id: str, version_id: str, caller: ConsoleCaller, store: StoreDep
) -> StreamingResponse:
    record = store.models.get_version(caller.tenant_id, model_id, version_id)
    return payload_download(store, record)


@router.post("/models/{model_id}/delete", dependencies=XSRF_CHECKED)
def delete_model(
    model_id: str, request: Request, caller: ConsoleCaller, store: StoreDep
) -> Response:
    store.models.delete(caller.tenant_id, model_id)
    return redirect(request, "/models")


@router.post("/models/{model_id}/versions/{version_id}/delete", dependencies=XSRF_CHECKED)
def delete_version(
    model_id: str, version_id: str, request: Request, caller: ConsoleCaller, store: StoreDep
) -> Response:
    _, versions = store.models.list_versions(caller.tenant_id, model_id, offset=0, limit=1)
    store.models.delete_version(caller.tenant_id, model_id, version_id)
    # The last version's delete deletes the model too: back to the list then.
    return redirect(request, f"/models/{model_id}" if versions > 1 else "/models")
