"""`/metrics` in Prometheus' text format. Unauthenticated like `/health` unless
`JOBMANAGER_METRICS_TOKEN` is set (docs/observability.md: do not expose it publicly)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr

from jobmanager.api.deps import ServicesDep
from jobmanager.api.errors import error_responses
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
    _check_token(services.settings.metrics_token, request.headers.get("authorization", ""))
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


def _check_token(token: SecretStr | None, authorization: str) -> None:
    if token is None:
        return
    expected = f"Bearer {token.get_secret_value()}".encode()
    if not hmac.compare_digest(authorization.encode(), expected):
        raise Unauthenticated("/metrics wants the metrics token: Authorization: Bearer TOKEN")
