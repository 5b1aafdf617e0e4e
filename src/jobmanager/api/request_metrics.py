"""Counts every HTTP request by method, route template and status, and times it; opens
the request's scope of log fields (`jobmanager.common.logs`).

The route is the template the request matched (`/api/jobmanager/v3/jobs/{id}`), never
the raw path: ids would make a new series per job. A request no route matched is
`unmatched`. The time is to the start of the answer, so a long event stream counts
the time to its first byte.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobmanager.common.logs import log_fields
from jobmanager.common.process_metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS

UNMATCHED = "unmatched"


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # unless an answer starts

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                seconds = time.perf_counter() - began
                HTTP_REQUEST_SECONDS.labels(scope["method"], _route(scope)).observe(seconds)
            await send(message)

        try:
            with log_fields():  # the request's scope: its tenant, its error's logref
                await self.app(scope, receive, sending)
        finally:
            HTTP_REQUESTS.labels(scope["method"], _route(scope), str(status)).inc()


def _route(scope: Scope) -> str:
    route: Any = scope.get("route")
    return str(getattr(route, "path", UNMATCHED))
