"""Checks that what a job names exists for its tenant and can run.

Each failure is a 400 naming the field, so a caller knows which id to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobmanager.domain.errors import InvalidInput
from jobmanager.store.tables import Configuration, DataEntry, Model, ModelVersion

if TYPE_CHECKING:
    from jobmanager.store.jobs import JobCreate

ROOT_FOLDERS = frozenset({"_PUBLIC_ROOT_ID", "_PRIVATE_ROOT_ID"})
RUNNABLE_KINDS = frozenset({"zeppelin", "jupyter"})


def check_job_references(session: Session, tenant_id: str, request: JobCreate) -> str:
    """Check the model, configuration and folders; return the model version to run."""
    version = _model_version(session, tenant_id, request.model_id, request.model_version_id)
    if version.payload_kind not in RUNNABLE_KINDS:
        raise InvalidInput(
            f"modelId: model {request.model_id!r} is not runnable: a job runs a Zeppelin note "
            "(.zpln or note.json) or a Jupyter notebook (.ipynb, nbformat 4)"
        )
    configuration = session.scalar(
        select(Configuration.id).where(
            Configuration.id == request.configuration_id, Configuration.tenant_id == tenant_id
        )
    )
    if configuration is None:
        raise InvalidInput(f"configurationId: no configuration {request.configuration_id!r}")
    check_folder(session, tenant_id, request.input_folder_id, "inputFolderId")
    check_folder(session, tenant_id, request.output_folder_id, "outputFolderId")
    return version.id


def check_folder(session: Session, tenant_id: str, folder_id: str, field: str) -> None:
    if folder_id in ROOT_FOLDERS:
        return
    found = session.scalar(
        select(DataEntry.is_directory).where(
            DataEntry.id == folder_id, DataEntry.tenant_id == tenant_id
        )
    )
    if found is None:
        raise InvalidInput(f"{field}: no Data Exchange folder {folder_id!r}")
    if not found:
        raise InvalidInput(f"{field}: {folder_id!r} is a file, not a folder")


def _model_version(
    session: Session, tenant_id: str, model_id: str, version_id: str | None
) -> ModelVersion:
    model = session.scalar(
        select(Model.id).where(Model.id == model_id, Model.tenant_id == tenant_id)
    )
    if model is None:
        raise InvalidInput(f"modelId: no model {model_id!r}")
    query = select(ModelVersion).where(ModelVersion.model_id == model_id)
    if version_id is not None:
        query = query.where(ModelVersion.id == version_id)
    version = session.scalar(query.order_by(ModelVersion.number.desc()).limit(1))
    if version is None:
        field = "modelVersionId" if version_id is not None else "modelId"
        raise InvalidInput(f"{field}: model {model_id!r} has no version {version_id or ''}".strip())
    return version
