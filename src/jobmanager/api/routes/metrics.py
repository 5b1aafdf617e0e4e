"""`/metrics` in Prometheus' text format. Unauthenticated like `/health` unless
`JOBMANAGER_METRICS_TOKEN` is set, which a service listening beyond loopback must set
(docs/observability.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from jobmanager.api.deps import ServicesDep
from jobmanager.api.errors import error_responses
from jobmanager.api.metrics_registry import TOKEN_WANTED, token_matches
from jobmanager.domain.errors import Unauthenticated

router = APIRouter(tags=["health"])


METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The metrics in Prometheus' text format",
        "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
    },
    **error_responses(401),
}


@router.get("/metrics", response_class=Response, responses=METRICS_RESPONSES)
def metrics(request: Request, services: ServicesDep) -> Response:
    authorization = request.headers.get("authorization", "")
    if not token_matches(services.settings.metrics_token, authorization):
        raise Unauthenticated(TOKEN_WANTED)
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
