"""A job's outputs on its page: the files of its output folder, each downloadable, and
shown as it reads best — the executed note or notebook rendered as Zeppelin and Jupyter
show it, a CSV file as a table, an image as itself (renderers: `console/render/`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

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
FILES_URL = "/api/dataexchange/v3/files"
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
    files = store.dataexchange.list_tree(job.tenant_id, job.output_folder_id)
    shown = [(path, record, view_of(path, record.size_in_bytes)) for path, record in files]
    # The executed note or notebook first, then tables, images, the rest.
    order = {"rendered": 0, "image": 1, "download": 2}
    shown.sort(key=lambda item: (order[item[2]], not item[0].endswith((".zpln", ".ipynb"))))
    return page(request, "outputs.html", job=job, files=shown, files_url=FILES_URL)


@router.get("/jobs/{job_id}/outputs/{file_id}", response_class=HTMLResponse)
def rendered_output(store: StoreDep, job: JobDep, file_id: str) -> Response:
    """One output file rendered as an HTML fragment."""
    files = store.dataexchange.list_tree(job.tenant_id, job.output_folder_id)
    inside = {record.id: path for path, record in files}
    if file_id not in inside:
        raise NotFound("output file", file_id)
    record, handle = store.dataexchange.open_file(job.tenant_id, file_id)
    if view_of(inside[file_id], record.size_in_bytes) != "rendered":
        handle.close()
        raise NotFound("rendered output", file_id)
    with handle:
        data = handle.read()
    renderer = RENDERERS[PurePosixPath(inside[file_id]).suffix.lower()]
    return HTMLResponse(renderer(data))
