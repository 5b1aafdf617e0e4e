"""The OpenAPI document, made to say what the service does (FastAPI's own says a bit less,
or something else).

- A request that fails validation answers 400 in the error format (`errors.py`), never
  FastAPI's 422: those answers and their schemas are dropped.
- A `filter` parameter is JSON, not any string: it is described by its JSON schema
  (`FilterQuery.schemas`), as content of the parameter.
- The maximum execution time a job or schedule may ask for is the operator's setting.
- An upload route reads its multipart body itself (`multipart.py`): `multipart_upload`
  describes it, and the model of its `metadata` part joins the components.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from jobmanager.api.filtering import COMPONENTS

VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
# The models of uploads' `metadata` parts, by name (filled by `multipart_upload`).
_METADATA_MODELS: dict[str, type[BaseModel]] = {}


@runtime_checkable
class JsonQuery(Protocol):
    """A dependency reading a query parameter of JSON text (its name: `filter`)."""

    name: str

    def schemas(self) -> dict[str, dict[str, Any]]:
        """The JSON schemas of the value by component name, the value's first."""
        ...


def multipart_upload(metadata: type[BaseModel] | None = None) -> dict[str, Any]:
    """`openapi_extra` of a route that reads a multipart upload: a `file` part and, given
    `metadata`, a `metadata` part holding that model as JSON."""
    properties: dict[str, Any] = {"file": {"type": "string", "format": "binary"}}
    form: dict[str, Any] = {"type": "object", "required": ["file"], "properties": properties}
    if metadata is not None:
        _METADATA_MODELS[metadata.__name__] = metadata
        properties["metadata"] = {"$ref": COMPONENTS + metadata.__name__}
        form["required"].append("metadata")
    media = {"schema": form, "encoding": {"metadata": {"contentType": "application/json"}}}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": media}}}


def install_openapi(app: FastAPI) -> None:
    """Serve `document(app)` as the app's OpenAPI document (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if not isinstance(original, APIRoute) or not original.include_in_schema:
            continue
        queries = list(_json_queries(original.dependant))
        for method in route.methods or ():
            operation = spec["paths"][route.path_format][method.lower()]
            operation.get("responses", {}).pop("422", None)
            for query in queries:
                _describe_json_query(operation, query)
        for query in queries:
            schemas.update(query.schemas())
    _time_limit(schemas, app.state.services.settings.time_limits.maximum)
    for name, model in _METADATA_MODELS.items():
        schema = model.model_json_schema(ref_template=COMPONENTS + "{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return spec


def _time_limit(schemas: dict[str, Any], maximum: int) -> None:
    """The operator's maximum execution time, in the bodies that ask for one."""
    for body, field in (
        ("JobCreate", "maximumExecutionTimeInSeconds"),
        ("JobRerun", "maximumExecutionTimeInSeconds"),
        ("ScheduleCreate", "maximumExecutionTime"),
    ):
        schemas[body]["properties"][field]["maximum"] = maximum


def _json_queries(dependant: Dependant) -> Iterator[JsonQuery]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, JsonQuery):
            yield dependency.call
        yield from _json_queries(dependency)


def _describe_json_query(operation: dict[str, Any], query: JsonQuery) -> None:
    top = next(iter(query.schemas()))
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and parameter["name"] == "filter":
            parameter.pop("schema", None)
            parameter["content"] = {"application/json": {"schema": {"$ref": COMPONENTS + top}}}
