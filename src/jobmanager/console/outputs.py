"""A job's outputs on its page: the files the job saved (`store/outputs.py`), each
downloadable as it saved it, and shown as it reads best — the executed note or notebook
rendered as Zeppelin and Jupyter show it, a CSV file as a table, an image as itself
(renderers: `console/render/`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from jobmanager.api.deps import StoreDep
from jobmanager.console.jobs import JobDep
from jobmanager.console.render import (
    render_csv_preview,
    render_jupyter_notebook,
    render_zeppelin_note,
)
from jobmanager.console.routing import ConsoleRoute, page
from jobmanager.domain.errors import NotFound

router = APIRouter(route_class=ConsoleRoute, tags=["console"], include_in_schema=False)
JOBS_URL = "/api/jobmanager/v3/jobs"
# How many outputs the page lists; the rest are for `jobmanager jobs outputs` and the API.
MAX_LISTED = 500
RENDERERS: dict[str, Callable[[bytes], str]] = {
    ".zpln": render_zeppelin_note,
    ".ipynb": render_jupyter_notebook,
    ".csv": render_csv_preview,
}
IMAGES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
# A file larger than this is offered for download only, not rendered in the page.
MAX_RENDERED_BYTES = 16 * 1024 * 1024


def view_of(path: str, size: int) -> str:
    """How the page shows a file: `rendered` (by a renderer), `image`, or `download`."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in IMAGES:
        return "image"
    if suffix in RENDERERS and size <= MAX_RENDERED_BYTES:
        return "rendered"
    return "download"


@router.get("/jobs/{job_id}/outputs", response_class=HTMLResponse)
def job_outputs(request: Request, store: StoreDep, job: JobDep) -> Response:
    """The files the job saved (not the output folder as it is now: a later job may have
    overwritten them there), each downloaded as the job saved it."""
    saved, total = store.outputs.list_outputs(job.tenant_id, job.id, offset=0, limit=MAX_LISTED)
    shown = [(output, view_of(output.path, output.size)) for output in saved]
    # The executed note or notebook first, then tables, images, the rest.
    order = {"rendered": 0, "image": 1, "download": 2}
    shown.sort(key=lambda item: (order[item[1]], not item[0].path.endswith((".zpln", ".ipynb"))))
    return page(
        request,
        "outputs.html",
        job=job,
        files=shown,
        more=total - len(saved),
        outputs_url=f"{JOBS_URL}/{quote(job.id, safe='')}/outputs",
    )


@router.get("/jobs/{job_id}/outputs/{path:path}", response_class=HTMLResponse)
def rendered_output(store: StoreDep, job: JobDep, path: str) -> Response:
    """One output of the job rendered as an HTML fragment."""
    output, handle = store.outputs.open(job.tenant_id, job.id, path)
    with handle:
        if view_of(output.path, output.size) != "rendered":
            raise NotFound("rendered output", path)
        data = handle.read()
    renderer = RENDERERS[PurePosixPath(output.path).suffix.lower()]
    return HTMLResponse(renderer(data))
