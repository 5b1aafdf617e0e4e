"""Liveness (`/health`: the service and its database respond) and readiness
(`/health/ready`: the database and the blob store both work, and no disk is full)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from jobmanager import __version__
from jobmanager.api.deps import ServicesDep
from jobmanager.api.errors import error_responses
from jobmanager.domain.errors import Unavailable
from jobmanager.store.readiness import unready_parts

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


@router.get("/health/ready", responses=error_responses(503))
def ready(services: ServicesDep) -> dict[str, str]:
    """503 in the error format, naming what does not answer or is full, until none is."""
    unready = unready_parts(services.store)
    if unready:
        raise Unavailable(f"Not ready: {'; '.join(unready)}")
    return {"status": "UP", "database": "UP", "blobStore": "UP"}
