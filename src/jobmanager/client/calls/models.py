"""`/api/modelmanagement/v3`: models, versions and their payloads."""

from __future__ import annotations

import os
from typing import IO, Any

from jobmanager.client.call import (
    Call,
    ProgressCallback,
    Sink,
    Upload,
    no_content,
    parse_as,
    parse_page,
)
from jobmanager.client.calls import DEFAULT_PAGE_SIZE, filter_text, given, page_params, segment
from jobmanager.client.types import ListPage, Model, Version

BASE = "/api/modelmanagement/v3/models"
LAST = "last"
OCTET_STREAM = "application/octet-stream"

Source = str | os.PathLike[str] | IO[bytes]


def create_model(
    name: str,
    payload: Source,
    *,
    description: str = "",
    type: str = "",
    filename: str | None = None,
    version: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> Call[Model]:
    """A new model whose first version holds `payload` (a path or a binary file, streamed).

    `version` is the version's metadata (`dependencies`, `io`, `kpi`, ...)."""
    metadata = {
        "name": name,
        "description": description,
        "type": type,
        "lastVersion": version or {},
    }
    return Call(
        "POST",
        BASE,
        parse_as(Model),
        upload=Upload.of(payload, filename, progress),
        metadata=metadata,
    )


def list_models(
    filter: dict[str, str] | str | None = None,
    sort: str | None = None,
    *,
    page_number: int = 0,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Call[ListPage[Model]]:
    """One page of models; `filter` matches name/type/description (`*` wildcards)."""
    params = page_params(page_number, page_size, filter=filter_text(filter), sort=sort)
    return Call("GET", BASE, parse_page(Model, "models"), params=params)


def get_model(model_id: str) -> Call[Model]:
    """One model with its last version."""
    return Call("GET", f"{BASE}/{segment(model_id)}", parse_as(Model))


def update_model(
    model_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    type: str | None = None,
) -> Call[Model]:
    """Change a model's name, description or type."""
    body = given(name=name, description=description, type=type)
    return Call("PATCH", f"{BASE}/{segment(model_id)}", parse_as(Model), json=body)


def delete_model(model_id: str) -> Call[None]:
    """Delete a model with all its versions."""
    return Call("DELETE", f"{BASE}/{segment(model_id)}", no_content)


def create_version(
    model_id: str,
    payload: Source,
    *,
    metadata: dict[str, Any] | None = None,
    filename: str | None = None,
    progress: ProgressCallback | None = None,
) -> Call[Version]:
    """A new version of a model holding `payload` (streamed)."""
    return Call(
        "POST",
        f"{BASE}/{segment(model_id)}/versions",
        parse_as(Version),
        upload=Upload.of(payload, filename, progress),
        metadata=metadata or {},
    )


def list_versions(
    model_id: str, *, page_number: int = 0, page_size: int = DEFAULT_PAGE_SIZE
) -> Call[ListPage[Version]]:
    """One page of a model's versions."""
    return Call(
        "GET",
        f"{BASE}/{segment(model_id)}/versions",
        parse_page(Version, "versions"),
        params=page_params(page_number, page_size),
    )


def get_version(model_id: str, version_id: str = LAST) -> Call[Version]:
    """One version's metadata (`last` = the newest)."""
    path = f"{BASE}/{segment(model_id)}/versions/{segment(version_id)}"
    return Call("GET", path, parse_as(Version), headers={"Accept": "application/json"})


def download_version(
    model_id: str,
    destination: Source,
    version_id: str = LAST,
    *,
    progress: ProgressCallback | None = None,
) -> Call[int]:
    """Stream a version's payload into `destination` (a path or a binary file); the size."""
    path = f"{BASE}/{segment(model_id)}/versions/{segment(version_id)}"
    sink = Sink(destination, progress)
    return Call(
        "GET",
        path,
        lambda _response: sink.size,
        headers={"Content-Type": OCTET_STREAM, "Accept": OCTET_STREAM},
        sink=sink,
    )


def update_last_version(model_id: str, changes: dict[str, Any]) -> Call[Version]:
    """Change the last version's metadata (`expirationDate`, `dependencies`, `io`, `kpi`...)."""
    path = f"{BASE}/{segment(model_id)}/versions/{LAST}"
    return Call("PATCH", path, parse_as(Version), json=changes)


def delete_version(model_id: str, version_id: str = LAST) -> Call[None]:
    """Delete a version; deleting the only one deletes the model."""
    path = f"{BASE}/{segment(model_id)}/versions/{segment(version_id)}"
    return Call("DELETE", path, no_content)
