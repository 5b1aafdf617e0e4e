"""Rows a job refers to, written straight into the tables for store-level tests."""

from __future__ import annotations

from dataclasses import dataclass

from jobmanager.startup.services import Services
from jobmanager.store.job_spec import JobSpec
from jobmanager.store.tables import Configuration, DataEntry, Model, ModelVersion


@dataclass
class Seed:
    tenant_id: str
    model_id: str
    configuration_id: str
    input_id: str
    output_id: str

    def job(self, **changes: object) -> JobSpec:
        values: dict[str, object] = {
            "model_id": self.model_id,
            "configuration_id": self.configuration_id,
            "input_folder_id": self.input_id,
            "output_folder_id": self.output_id,
            "max_execution_seconds": 60,
        }
        values.update(changes)
        return JobSpec(**values)  # type: ignore[arg-type]


def seed(
    services: Services,
    tenant: str = "acme",
    kind: str = "zeppelin",
    max_environments: int = 1,
    when_busy: str = "queue",
) -> Seed:
    record = services.store.tenants.create(tenant)
    with services.db.transaction() as session:
        model = Model(tenant_id=record.id, name="note")
        configuration = Configuration(
            tenant_id=record.id,
            name="default",
            max_environments=max_environments,
            when_busy=when_busy,
        )
        folders = [
            DataEntry(tenant_id=record.id, parent_id="_PUBLIC_ROOT_ID", name=n, is_directory=True)
            for n in ("in", "out")
        ]
        session.add_all([model, configuration, *folders])
        session.flush()
        session.add(
            ModelVersion(
                model_id=model.id,
                tenant_id=record.id,
                number=1,
                payload_key="0" * 32,
                payload_kind=kind,
            )
        )
        return Seed(record.id, model.id, configuration.id, folders[0].id, folders[1].id)


def add_configuration(services: Services, tenant_id: str, **values: object) -> str:
    with services.db.transaction() as session:
        configuration = Configuration(tenant_id=tenant_id, name="extra", **values)
        session.add(configuration)
        session.flush()
        return configuration.id
