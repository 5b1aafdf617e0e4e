"""Who the caller is: lets a client check its token and see its tenant."""

from __future__ import annotations

from fastapi import APIRouter

from jobmanager.api.deps import CallerDep

router = APIRouter(prefix="/api/identity/v1", tags=["identity"])


@router.get("/me")
def me(caller: CallerDep) -> dict[str, str]:
    return {"tenant": caller.tenant, "clientId": caller.client_id}
