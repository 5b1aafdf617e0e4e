"""The models pages: the list, a model with its versions, downloads and deletes.

Uploads (a new model, a new version) go from the page straight to the API's upload
routes (`static/upload.js`, with a progress bar): one set of rules and one streaming
upload path for the API and the console alike.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from jobmanager.api.deps import StoreDep
from jobmanager.api.paging import PageDep
from jobmanager.api.routes.models import payload_download
from jobmanager.console.forms import Pager
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.store.models import ModelFilter

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
MODEL_FILES = ".zpln,.ipynb,.json"


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
