"""Liveness: answers when the service and its database respond."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from jobmanager import __version__
from jobmanager.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep, request: Request) -> dict[str, str]:
    with services.db.reading() as session:
        session.execute(text("SELECT 1"))
    answer = {"status": "UP", "version": __version__}
    isolation = request.app.state.runtime.isolation
    if isolation is not None:
        answer["isolation"] = "sandbox" if isolation.sandbox is not None else "process"
        if isolation.sandbox is None:
            answer["warning"] = "jobs are not sandboxed: only for a single trusted user"
    return answer
