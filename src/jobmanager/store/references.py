"""Checks that what a job names exists for its tenant and can run.

Each failure is a 400 naming the field, so a caller knows which id to fix. The checks
take two queries on the way that succeeds (job creation is a hot path); the reasons
for a failure are looked up only when there is one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.notebooks import runnable_problem
from jobmanager.domain.parameter_types import check_typed_parameters, declared_in
from jobmanager.domain.parameters import parameters_for_run
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.tables import Configuration, DataEntry, Model, ModelVersion

ROOT_FOLDERS = frozenset({"_PUBLIC_ROOT_ID", "_PRIVATE_ROOT_ID"})
RUNNABLE_KINDS = frozenset({"zeppelin", "jupyter"})


def check_job_references(session: Session, tenant_id: str, spec: JobSpec) -> str:
    """Check the model, configuration and folders, and the parameters against the
    version's typed parameters; return the model version to run."""
    version_id = _runnable_version(session, tenant_id, spec)
    configuration, input_folder, output_folder = session.execute(
        select(
            _scalar(select(Configuration.id), Configuration, spec.configuration_id, tenant_id),
            _folder(spec.input_folder_id, tenant_id),
            _folder(spec.output_folder_id, tenant_id),
        )
    ).one()
    if configuration is None:
        raise InvalidInput(f"configurationId: no configuration {spec.configuration_id!r}")
    _check_folder(spec.input_folder_id, input_folder, "inputFolderId")
    _check_folder(spec.output_folder_id, output_folder, "outputFolderId")
    return version_id


def _runnable_version(session: Session, tenant_id: str, spec: JobSpec) -> str:
    query = (
        select(
            ModelVersion.id,
            ModelVersion.payload_kind,
            ModelVersion.definition,
            ModelVersion.payload_kernel,
            ModelVersion.payload_language,
        )
        .join(Model, Model.id == ModelVersion.model_id)
        .where(Model.id == spec.model_id, Model.tenant_id == tenant_id)
    )
    if spec.model_version_id is not None:
        query = query.where(ModelVersion.id == spec.model_version_id)
    row = session.execute(query.order_by(ModelVersion.number.desc()).limit(1)).first()
    if row is None:
        model = session.scalar(
            select(Model.id).where(Model.id == spec.model_id, Model.tenant_id == tenant_id)
        )
        if model is None:
            raise InvalidInput(f"modelId: no model {spec.model_id!r}")
        field = "modelVersionId" if spec.model_version_id is not None else "modelId"
        version = spec.model_version_id or ""
        raise InvalidInput(f"{field}: model {spec.model_id!r} has no version {version}".strip())
    if row.payload_kind not in RUNNABLE_KINDS:
        raise InvalidInput(
            f"modelId: model {spec.model_id!r} is not runnable: a job runs a Zeppelin note "
            "(.zpln or note.json) or a Jupyter notebook (.ipynb, nbformat 4 or 3)"
        )
    problem = runnable_problem(row.payload_kernel, row.payload_language)
    if problem is not None:
        raise InvalidInput(f"modelId: model {spec.model_id!r} is not runnable: {problem}")
    check_typed_parameters(parameters_for_run(spec.parameters), declared_in(row.definition))
    return str(row.id)


def _scalar(query: Select[Any], table: Any, identifier: str, tenant_id: str) -> Any:
    return (
        query.where(table.id == identifier, table.tenant_id == tenant_id).limit(1).scalar_subquery()
    )


def _folder(folder_id: str, tenant_id: str) -> Any:
    """`is_directory` of the entry, as a scalar subquery (None when there is none)."""
    return _scalar(select(DataEntry.is_directory), DataEntry, folder_id, tenant_id)


def _check_folder(folder_id: str, is_directory: bool | None, field: str) -> None:
    if folder_id in ROOT_FOLDERS:
        return
    if is_directory is None:
        raise InvalidInput(f"{field}: no Data Exchange folder {folder_id!r}")
    if not is_directory:
        raise InvalidInput(f"{field}: {folder_id!r} is a file, not a folder")
