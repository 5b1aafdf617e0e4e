"""The store: every repository over one database. The only code that writes to it."""

from __future__ import annotations

from jobmanager.auth.sealing import SecretBox
from jobmanager.store.blobs import BlobStore
from jobmanager.store.configurations import ConfigurationRepository
from jobmanager.store.dataexchange import DataExchangeRepository
from jobmanager.store.db import Database
from jobmanager.store.deliveries import DeliveryRepository
from jobmanager.store.events import EventRepository
from jobmanager.store.execution import ExecutionRepository
from jobmanager.store.jobs import JobRepository
from jobmanager.store.members import MemberRepository
from jobmanager.store.models import ModelRepository
from jobmanager.store.outputs import OutputRepository
from jobmanager.store.schedules import ScheduleRepository
from jobmanager.store.sends import SendRepository
from jobmanager.store.sign_ins import SignInRepository
from jobmanager.store.space import DiskSpace
from jobmanager.store.stats import StatsRepository
from jobmanager.store.tenants import TenantRepository
from jobmanager.store.triggers import TriggerRepository
from jobmanager.store.webhooks import WebhookRepository


class Store:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        tenant_max_live_jobs: int | None = None,
        *,
        box: SecretBox | None = None,  # webhook secrets: a store without it cannot touch them
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.tenants = TenantRepository(db)
        self.models = ModelRepository(db, blobs)
        self.jobs = JobRepository(db)
        self.schedules = ScheduleRepository(db, self.jobs)
        self.triggers = TriggerRepository(db, self.jobs)
        self.webhooks = WebhookRepository(db, box)
        self.deliveries = DeliveryRepository(db, box)
        self.execution = ExecutionRepository(db, blobs, tenant_max_live_jobs)
        self.events = EventRepository(db)
        self.configurations = ConfigurationRepository(db)
        self.dataexchange = DataExchangeRepository(db, blobs)
        self.outputs = OutputRepository(db, blobs)
        self.stats = StatsRepository(db)
        self.sign_ins = SignInRepository(db)
        self.members = MemberRepository(db)
        self.sends = SendRepository(db)

    @property
    def space(self) -> DiskSpace:
        """The local disks' state (`store/space.py`)."""
        return self.db.space
