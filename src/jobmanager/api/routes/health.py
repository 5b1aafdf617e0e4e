"""Liveness: answers when the service and its database respond."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from jobmanager import __version__
from jobmanager.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep) -> dict[str, str]:
    with services.db.reading() as session:
        session.execute(text("SELECT 1"))
    return {"status": "UP", "version": __version__}
