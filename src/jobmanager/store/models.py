"""Model Management (SPEC §2): models, their numbered versions, and the versions' payload blobs.

A model always has at least one version: it is created with its first, and deleting
its only version deletes it. Version numbers are 1, 2, 3… per model, assigned here.
A version's payload is a blob written before the version's row (see
`api/multipart.py`); its kind (`zeppelin`, `jupyter`, `other`) is read from the blob's
content when the version is stored, and so are a notebook's kernel, language and
warnings (a notebook nbformat cannot read is refused: `domain.notebooks`). Blobs of
deleted versions are removed after the transaction commits, so a rolled-back delete
never loses a payload.

`definition` holds the caller's VersionDefinition fields that the store does not
interpret, by their API names: `dependencies`, `io`, `producedBy`, `kpi`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, select, true
from sqlalchemy.orm import Session, aliased

from jobmanager.domain.errors import Conflict, NotFound
from jobmanager.domain.payload import PayloadFacts, inspect_payload
from jobmanager.domain.statuses import FINAL
from jobmanager.store.blobs import BlobStore
from jobmanager.store.db import Database
from jobmanager.store.tables import Job, Model, ModelVersion
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.store.models")

FILTER_FIELDS = ("name", "type", "description", "author")
MODEL_FIELDS = frozenset({"name", "description", "type"})
DEFINITION_FIELDS = frozenset({"dependencies", "io", "producedBy", "kpi"})
VERSION_FIELDS = DEFINITION_FIELDS | {"expirationDate"}
# Detection reads this much of a payload that starts like a JSON object.
DETECT_LIMIT = 32 * 1024 * 1024
_PEEK = 4096


@dataclass(frozen=True)
class ModelFilter:
    """What a model list selects: patterns over the model's FILTER_FIELDS, and over the
    parameters of its last version's `io.optionalParameters` (by parameter name).

    A pattern is a plain string, matching the whole value, or holds `*` for any run of
    characters; case is ignored. A parameter the version does not have matches nothing.
    """

    fields: Mapping[str, str] = field(default_factory=dict)
    optional_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str = ""
    type: str = ""
    author: str = ""


@dataclass(frozen=True)
class VersionSpec:
    """What a caller defines on a version; `definition` keys are in DEFINITION_FIELDS."""

    definition: Mapping[str, Any]
    expiration_date: datetime | None = None
    author: str = ""


@dataclass(frozen=True)
class Payload:
    """A payload already stored as a blob, about to be attached to a new version."""

    key: str
    size: int
    filename: str = ""
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class VersionRecord:
    id: str
    model_id: str
    number: int
    author: str
    creation_date: datetime
    expiration_date: datetime | None
    definition: Mapping[str, Any]
    payload_key: str
    payload_size: int
    payload_kind: str
    payload_filename: str
    payload_media_type: str
    payload_kernel: str | None = None
    payload_language: str | None = None
    payload_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelRecord:
    id: str
    name: str
    description: str
    type: str
    author: str
    created_at: datetime
    last_version: VersionRecord | None


class ModelRepository:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    def create(
        self, tenant_id: str, model: ModelSpec, version: VersionSpec, payload: Payload
    ) -> ModelRecord:
        """A new model with its first version, whose payload is the stored blob."""
        facts = inspect_blob(self.blobs, payload.key)
        with self.db.transaction() as session:
            row = Model(
                tenant_id=tenant_id,
                name=model.name,
                description=model.description,
                type=model.type,
                author=model.author,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            first = _new_version(row, 1, version, payload, facts)
            session.add(first)
            session.flush()
            return _model_record(row, first)

    def get(self, tenant_id: str, model_id: str) -> ModelRecord:
        with self.db.reading() as session:
            row = _find_model(session, tenant_id, model_id)
            return _model_record(row, _last_version(session, model_id))

    def list_page(
        self,
        tenant_id: str,
        *,
        offset: int,
        limit: int,
        flt: ModelFilter,
        descending: bool,
    ) -> tuple[list[ModelRecord], int]:
        """One page ordered by name, and the count of all that match `flt`."""
        where = and_(
            Model.tenant_id == tenant_id,
            *(_pattern_clause(getattr(Model, f), p) for f, p in flt.fields.items()),
            _optional_parameters_clause(flt.optional_parameters),
        )
        with self.db.reading() as session:
            total = int(session.scalar(select(func.count()).select_from(Model).where(where)) or 0)
            order = (Model.name.desc(), Model.id.desc()) if descending else (Model.name, Model.id)
            page = select(Model).where(where).order_by(*order).offset(offset).limit(limit)
            rows = list(session.scalars(page))
            latest = _last_versions(session, [row.id for row in rows])
            return [_model_record(row, latest.get(row.id)) for row in rows], total

    def update(self, tenant_id: str, model_id: str, changes: Mapping[str, str]) -> ModelRecord:
        """Set `name`, `description` and/or `type`."""
        unknown = set(changes) - MODEL_FIELDS
        if unknown:
            raise ValueError(f"not model fields: {sorted(unknown)}")
        with self.db.transaction() as session:
            row = _find_model(session, tenant_id, model_id, lock=True)
            for name, value in changes.items():
                setattr(row, name, value)
            session.flush()
            return _model_record(row, _last_version(session, model_id))

    def delete(self, tenant_id: str, model_id: str) -> None:
        """Delete the model, all its versions and (after commit) their payloads."""
        with self.db.transaction(essential=True) as session:
            row = _find_model(session, tenant_id, model_id, lock=True)
            _refuse_if_used(session, tenant_id, Job.model_id == model_id, f"model {model_id!r}")
            of_model = ModelVersion.model_id == model_id
            keys = list(session.scalars(select(ModelVersion.payload_key).where(of_model)))
            session.execute(delete(ModelVersion).where(of_model))
            session.delete(row)
        self._delete_blobs(keys)

    def add_version(
        self, tenant_id: str, model_id: str, version: VersionSpec, payload: Payload
    ) -> VersionRecord:
        """A new last version, numbered one past the current last."""
        facts = inspect_blob(self.blobs, payload.key)
        with self.db.transaction() as session:
            row = _find_model(session, tenant_id, model_id, lock=True)
            last = _last_version(session, model_id)
            added = _new_version(row, (last.number if last else 0) + 1, version, payload, facts)
            session.add(added)
            session.flush()
            return _version_record(added)

    def get_version(self, tenant_id: str, model_id: str, version_id: str | None) -> VersionRecord:
        """One version of the tenant's model; `version_id=None` is the last version."""
        with self.db.reading() as session:
            _find_model(session, tenant_id, model_id)
            return _version_record(_find_version(session, model_id, version_id))

    def list_versions(
        self, tenant_id: str, model_id: str, *, offset: int, limit: int
    ) -> tuple[list[VersionRecord], int]:
        """One page of the model's versions, oldest (number 1) first, and their count."""
        with self.db.reading() as session:
            _find_model(session, tenant_id, model_id)
            where = ModelVersion.model_id == model_id
            count = select(func.count()).select_from(ModelVersion).where(where)
            total = int(session.scalar(count) or 0)
            page = _versions_of(model_id).offset(offset).limit(limit)
            return [_version_record(row) for row in session.scalars(page)], total

    def update_last_version(
        self, tenant_id: str, model_id: str, changes: Mapping[str, Any]
    ) -> VersionRecord:
        """Change the last version's metadata (never its payload).

        `changes` holds VERSION_FIELDS by their API names; `expirationDate` is an aware
        datetime or None, the others replace the stored definition's field.
        """
        unknown = set(changes) - VERSION_FIELDS
        if unknown:
            raise ValueError(f"not version fields: {sorted(unknown)}")
        with self.db.transaction() as session:
            _find_model(session, tenant_id, model_id, lock=True)
            row = _find_version(session, model_id, None)
            if "expirationDate" in changes:
                row.expiration_date = changes["expirationDate"]
            definition = {k: v for k, v in changes.items() if k in DEFINITION_FIELDS}
            row.definition = {**row.definition, **definition}
            session.flush()
            return _version_record(row)

    def delete_version(self, tenant_id: str, model_id: str, version_id: str | None) -> None:
        """Delete a version (None = the last); deleting the only version deletes the model."""
        with self.db.transaction(essential=True) as session:
            model = _find_model(session, tenant_id, model_id, lock=True)
            row = _find_version(session, model_id, version_id)
            used = Job.model_version_id == row.id
            _refuse_if_used(session, tenant_id, used, f"version {row.id!r} of model {model_id!r}")
            count = select(func.count()).select_from(ModelVersion)
            remaining = session.scalar(count.where(ModelVersion.model_id == model_id))
            key = row.payload_key
            session.execute(delete(ModelVersion).where(ModelVersion.id == row.id))
            if remaining == 1:
                session.delete(model)
        self._delete_blobs([key])

    def _delete_blobs(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.blobs.delete(key)
            except OSError:
                log.exception("could not delete the payload blob %s; it is orphaned", key)


def inspect_blob(blobs: BlobStore, key: str) -> PayloadFacts:
    """The payload's kind and facts, from at most DETECT_LIMIT bytes of its head;
    InvalidInput for a notebook nbformat cannot read.

    Only a payload that starts like a JSON object is read further than a peek, so a
    large binary payload costs one small read.
    """
    with blobs.open(key) as handle:
        head = handle.read(_PEEK)
        if not head.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
            return PayloadFacts("other")
        if len(head) == _PEEK:
            head += handle.read(DETECT_LIMIT - _PEEK)
    return inspect_payload(head)


def _pattern_clause(column: Any, pattern: str) -> ColumnElement[bool]:
    if "*" not in pattern:
        return func.lower(column) == pattern.lower()
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(escaped.replace("*", "%"), escape="\\")  # type: ignore[no-any-return]


def _optional_parameters_clause(patterns: Mapping[str, str]) -> ColumnElement[bool]:
    """The model's last version has every named optional parameter, matching its pattern.

    Parameter names are plain words (checked by the API): they become a JSON path.
    """
    if not patterns:
        return true()
    newer = aliased(ModelVersion)
    last_number = (
        select(func.max(newer.number))
        .where(newer.model_id == ModelVersion.model_id)
        .scalar_subquery()
    )
    values = ModelVersion.definition
    return exists().where(
        ModelVersion.model_id == Model.id,
        ModelVersion.number == last_number,
        *(
            _pattern_clause(values[("io", "optionalParameters", name)].as_string(), pattern)
            for name, pattern in patterns.items()
        ),
    )


def _find_model(session: Session, tenant_id: str, model_id: str, *, lock: bool = False) -> Model:
    query = select(Model).where(Model.id == model_id, Model.tenant_id == tenant_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("model", model_id)
    return row


def _versions_of(model_id: str) -> Select[ModelVersion]:
    return (
        select(ModelVersion).where(ModelVersion.model_id == model_id).order_by(ModelVersion.number)
    )


def _last_version(session: Session, model_id: str) -> ModelVersion | None:
    query = _versions_of(model_id).order_by(None).order_by(ModelVersion.number.desc()).limit(1)
    return session.scalar(query)


def _find_version(session: Session, model_id: str, version_id: str | None) -> ModelVersion:
    if version_id is None:
        row = _last_version(session, model_id)
    else:
        query = _versions_of(model_id).where(ModelVersion.id == version_id)
        row = session.scalar(query)
    if row is None:
        raise NotFound("model version", version_id or "last")
    return row


def _last_versions(session: Session, model_ids: list[str]) -> dict[str, ModelVersion]:
    """The last version of each model, in one query."""
    if not model_ids:
        return {}
    newest = (
        select(ModelVersion.model_id, func.max(ModelVersion.number).label("number"))
        .where(ModelVersion.model_id.in_(model_ids))
        .group_by(ModelVersion.model_id)
        .subquery()
    )
    rows = session.scalars(
        select(ModelVersion).join(
            newest,
            and_(
                ModelVersion.model_id == newest.c.model_id,
                ModelVersion.number == newest.c.number,
            ),
        )
    )
    return {row.model_id: row for row in rows}


def _refuse_if_used(session: Session, tenant_id: str, uses: ColumnElement[bool], what: str) -> None:
    """A job that has not ended still needs its model: refuse the delete (409)."""
    busy = session.scalar(
        select(Job.id)
        .where(Job.tenant_id == tenant_id, uses, Job.status.not_in([s.value for s in FINAL]))
        .limit(1)
    )
    if busy is not None:
        raise Conflict(f"{what} is used by job {busy!r}, which has not ended")


def _new_version(
    model: Model, number: int, spec: VersionSpec, payload: Payload, facts: PayloadFacts
) -> ModelVersion:
    notebook = facts.notebook
    return ModelVersion(
        model_id=model.id,
        tenant_id=model.tenant_id,
        number=number,
        author=spec.author,
        creation_date=utcnow(),
        expiration_date=spec.expiration_date,
        definition={k: v for k, v in spec.definition.items() if k in DEFINITION_FIELDS},
        payload_key=payload.key,
        payload_size=payload.size,
        payload_kind=facts.kind,
        payload_filename=payload.filename,
        payload_media_type=payload.media_type,
        payload_kernel=notebook.kernel,
        payload_language=notebook.language,
        payload_warnings=list(notebook.warnings),
    )


def _version_record(row: ModelVersion) -> VersionRecord:
    return VersionRecord(
        id=row.id,
        model_id=row.model_id,
        number=row.number,
        author=row.author,
        creation_date=row.creation_date,
        expiration_date=row.expiration_date,
        definition=dict(row.definition or {}),
        payload_key=row.payload_key,
        payload_size=row.payload_size,
        payload_kind=row.payload_kind,
        payload_filename=row.payload_filename,
        payload_media_type=row.payload_media_type,
        payload_kernel=row.payload_kernel,
        payload_language=row.payload_language,
        payload_warnings=tuple(row.payload_warnings or ()),
    )


def _model_record(row: Model, last: ModelVersion | None) -> ModelRecord:
    return ModelRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        type=row.type,
        author=row.author,
        created_at=row.created_at,
        last_version=_version_record(last) if last is not None else None,
    )
