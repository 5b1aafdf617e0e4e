"""The submit page: model, configuration, input and output folders, parameters
(prefilled from the model, read back with the model's types), time limit. The job is
made by the API's own rules: the form becomes the API's `JobCreate` body and goes
through the API's own use case (`usecases.jobs.submit`). Only models a job can run (a
note or a notebook) are offered."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from jobmanager.api.deps import Caller, DispatcherDep, SettingsDep, StoreDep
from jobmanager.api.schemas.jobs import JobCreate
from jobmanager.console.forms import api_body, json_object, prefixed_fields
from jobmanager.console.jobs import MODELS_LISTED
from jobmanager.console.parameters import ParameterForm, parameter_form
from jobmanager.console.routing import XSRF_CHECKED, ConsoleCaller, ConsoleRoute, page, redirect
from jobmanager.domain.errors import NotFound
from jobmanager.domain.parameter_types import declared_in
from jobmanager.store.models import ModelFilter
from jobmanager.store.references import RUNNABLE_KINDS
from jobmanager.store.store import Store
from jobmanager.usecases import jobs

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
PARAMETER_PREFIX = "param."
# A model payload larger than this is not read for its parameters.
MAX_PREFILL_BYTES = 8 * 1024 * 1024


def choices(store: Store, tenant_id: str) -> dict[str, Any]:
    """The models a job can run, the configurations and folders the form offers."""
    models, _ = store.models.list_page(
        tenant_id, offset=0, limit=MODELS_LISTED, flt=ModelFilter(), descending=False
    )
    configurations, _ = store.configurations.list_page(tenant_id, offset=0, limit=100)
    return {
        "models": [
            model
            for model in models
            if model.last_version and model.last_version.payload_kind in RUNNABLE_KINDS
        ],
        "configurations": configurations,
        "folders": store.dataexchange.list_folders(tenant_id),
    }


def parameters_of(
    store: Store, tenant_id: str, model_id: str, version_id: str | None = None
) -> ParameterForm:
    """The parameters a version of the model (by default its last) asks for, with their
    defaults and types; none for a model that is not there (the API's checks say so)."""
    try:
        version = store.models.get_version(tenant_id, model_id, version_id) if model_id else None
    except NotFound:
        version = None
    if version is None:
        return ParameterForm()
    declared = declared_in(version.definition)
    if version.payload_size > MAX_PREFILL_BYTES:
        return parameter_form(b"", version.payload_kind, declared)
    with store.blobs.open(version.payload_key) as payload:
        return parameter_form(payload.read(), version.payload_kind, declared)


async def sent_parameters(request: Request, form: ParameterForm, more: str) -> dict[str, Any]:
    """The parameters a form sent: its fields read as the model's types, then the JSON
    object of "more parameters" (which wins)."""
    parameters = form.read(prefixed_fields(await request.form(), PARAMETER_PREFIX))
    parameters.update(json_object(more, "more parameters"))
    return parameters


@router.get("/submit", response_class=HTMLResponse)
def submit_page(
    request: Request, caller: ConsoleCaller, store: StoreDep, model: str = "", job: str = ""
) -> Response:
    """The form; `job` fills it with a job's choices and parameters (to submit it again)."""
    form = choices(store, caller.tenant_id)
    again = jobs.load_job(store, caller.tenant_id, job) if job else None
    model = again.model_id if again else model or (form["models"][0].id if form["models"] else "")
    parameters = parameters_of(store, caller.tenant_id, model)
    return page(
        request,
        "submit.html",
        caller=caller,
        active="/submit",
        chosen_model=model,
        again=again,
        parameters=parameters.showing(again.parameters) if again else parameters,
        **form,
    )


@router.get("/submit/parameters", response_class=HTMLResponse)
def parameter_fields(
    request: Request, caller: ConsoleCaller, store: StoreDep, model: str = ""
) -> Response:
    """The parameter fields of another model (the form swaps them in)."""
    return page(
        request, "parameters.html", parameters=parameters_of(store, caller.tenant_id, model)
    )


@router.post("/submit", dependencies=XSRF_CHECKED)
async def submit_form(
    request: Request,
    caller: ConsoleCaller,
    store: StoreDep,
    settings: SettingsDep,
    dispatcher: DispatcherDep,
    model: Annotated[str, Form()],
    configuration: Annotated[str, Form()],
    input_folder: Annotated[str, Form()],
    output_folder: Annotated[str, Form()],
    time_limit: Annotated[str, Form()] = "",
    extra_parameters: Annotated[str, Form()] = "",
    new_input_folder: Annotated[str, Form(max_length=255)] = "",
    new_output_folder: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    form = parameters_of(store, caller.tenant_id, model)
    parameters = await sent_parameters(request, form, extra_parameters)
    body = api_body(
        JobCreate,
        modelId=model,
        configurationId=configuration,
        inputFolderId=_folder(store, caller, input_folder, new_input_folder),
        outputFolderId=_folder(store, caller, output_folder, new_output_folder),
        maximumExecutionTimeInSeconds=time_limit.strip() or None,
        parameters=parameters,
    )
    made = jobs.submit(store, dispatcher, caller, body.to_spec(settings.time_limits))
    return redirect(request, f"/jobs/{made.id}")


def _folder(store: Store, caller: Caller, chosen: str, new_name: str) -> str:
    """The chosen folder, or a new one of that name made inside it (Data Exchange's
    rules for names; a name taken answers 409 in words)."""
    if not new_name.strip():
        return chosen
    made = store.dataexchange.create_directory(
        caller.tenant_id, chosen, new_name.strip(), modified_by=caller.client_id
    )
    return made.id
