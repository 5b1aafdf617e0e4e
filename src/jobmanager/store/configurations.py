"""Environment configurations (SPEC §4) and the environments that exist now.

Values are checked by the caller (the API schema, with the domain's rules); this
repository stores them. The environments are the rows of `environment_slots`,
which the job engine writes; here they are only read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobmanager.domain.errors import Conflict, NotFound
from jobmanager.domain.statuses import FINAL
from jobmanager.store.db import Database
from jobmanager.store.query import paged
from jobmanager.store.tables import Configuration, EnvironmentSlot, Job
from jobmanager.store.types import utcnow

DEFAULT_RUNTIME = "python3"


@dataclass(frozen=True, kw_only=True)
class ConfigurationSpec:
    """What a caller sets on a configuration."""

    name: str
    description: str = ""
    runtime: str = DEFAULT_RUNTIME
    packages: tuple[str, ...] = ()
    cpus: float | None = None
    memory_mib: int | None = None
    max_processes: int | None = None
    disk_mib: int | None = None
    max_environments: int = 1
    when_busy: str = "queue"
    network: str = "none"
    network_allow: tuple[str, ...] = ()
    environment_variables: dict[str, str] = field(default_factory=dict)
    retry: dict[str, Any] | None = None


SPEC_FIELDS = frozenset(f.name for f in dataclasses.fields(ConfigurationSpec))


@dataclass(frozen=True, kw_only=True)
class ConfigurationRecord(ConfigurationSpec):
    """A stored configuration: its spec fields, its id and its dates."""

    id: str
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class EnvironmentRecord:
    """A live environment: one numbered slot of its configuration, serving one job."""

    id: str
    configuration_id: str
    slot: int
    job_id: str
    status: str
    created_at: datetime


class ConfigurationRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, tenant_id: str, spec: ConfigurationSpec) -> ConfigurationRecord:
        with self.db.transaction() as session:
            now = utcnow()
            row = Configuration(tenant_id=tenant_id, created_at=now, modified_at=now)
            _write(row, spec)
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, tenant_id: str, configuration_id: str) -> ConfigurationRecord:
        with self.db.reading() as session:
            return _record(_find(session, tenant_id, configuration_id))

    def list_page(
        self, tenant_id: str, *, offset: int, limit: int
    ) -> tuple[list[ConfigurationRecord], int]:
        """One page, oldest first, and the total count."""
        query = (
            select(Configuration)
            .where(Configuration.tenant_id == tenant_id)
            .order_by(Configuration.created_at, Configuration.id)
        )
        with self.db.reading() as session:
            rows, total = paged(session, query, offset, limit)
            return [_record(row) for row in rows], total

    def update(
        self, tenant_id: str, configuration_id: str, changes: Mapping[str, Any]
    ) -> ConfigurationRecord:
        """Set the given `ConfigurationSpec` fields, in one transaction."""
        unknown = set(changes) - SPEC_FIELDS
        if unknown:
            raise ValueError(f"not configuration fields: {sorted(unknown)}")
        with self.db.transaction() as session:
            row = _find(session, tenant_id, configuration_id, lock=True)
            _write(row, dataclasses.replace(_record(row), **changes))
            row.modified_at = utcnow()
            session.flush()
            return _record(row)

    def delete(self, tenant_id: str, configuration_id: str) -> None:
        """Delete; refused (409) while a job that is not final uses it."""
        with self.db.transaction(essential=True) as session:
            row = _find(session, tenant_id, configuration_id, lock=True)
            busy = session.scalar(
                select(Job.id)
                .where(
                    Job.tenant_id == tenant_id,
                    Job.configuration_id == configuration_id,
                    Job.status.not_in([status.value for status in FINAL]),
                )
                .limit(1)
            )
            if busy is not None:
                raise Conflict(
                    f"configuration {configuration_id!r} is used by job {busy!r}, "
                    "which has not ended; stop it or wait for it to end"
                )
            session.delete(row)

    def list_environments(
        self, tenant_id: str, *, offset: int, limit: int
    ) -> tuple[list[EnvironmentRecord], int]:
        """The live environments of the tenant, oldest first, and their count."""
        query = (
            select(EnvironmentSlot)
            .where(EnvironmentSlot.tenant_id == tenant_id)
            .order_by(EnvironmentSlot.created_at, EnvironmentSlot.id)
        )
        with self.db.reading() as session:
            rows, total = paged(session, query, offset, limit)
            return [_environment(row) for row in rows], total

    def get_environment(self, tenant_id: str, environment_id: str) -> EnvironmentRecord:
        with self.db.reading() as session:
            row = session.scalar(
                select(EnvironmentSlot).where(
                    EnvironmentSlot.id == environment_id, EnvironmentSlot.tenant_id == tenant_id
                )
            )
            if row is None:
                raise NotFound("environment", environment_id)
            return _environment(row)


def _find(
    session: Session, tenant_id: str, configuration_id: str, lock: bool = False
) -> Configuration:
    query = select(Configuration).where(
        Configuration.id == configuration_id, Configuration.tenant_id == tenant_id
    )
    row: Configuration | None = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("configuration", configuration_id)
    return row


def _write(row: Configuration, spec: ConfigurationSpec) -> None:
    for name in SPEC_FIELDS:
        setattr(row, name, getattr(spec, name))
    row.packages = list(spec.packages)
    row.network_allow = list(spec.network_allow)
    row.environment_variables = dict(spec.environment_variables)


def _record(row: Configuration) -> ConfigurationRecord:
    return ConfigurationRecord(
        id=row.id,
        name=row.name,
        description=row.description,
        runtime=row.runtime,
        packages=tuple(row.packages),
        cpus=row.cpus,
        memory_mib=row.memory_mib,
        max_processes=row.max_processes,
        disk_mib=row.disk_mib,
        max_environments=row.max_environments,
        when_busy=row.when_busy,
        network=row.network,
        network_allow=tuple(row.network_allow),
        environment_variables=dict(row.environment_variables),
        retry=row.retry,
        created_at=row.created_at,
        modified_at=row.modified_at,
    )


def _environment(row: EnvironmentSlot) -> EnvironmentRecord:
    return EnvironmentRecord(
        id=row.id,
        configuration_id=row.configuration_id,
        slot=row.slot,
        job_id=row.job_id,
        status=row.status,
        created_at=row.created_at,
    )
