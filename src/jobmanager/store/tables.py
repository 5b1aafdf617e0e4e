"""Every table of the service. Alembic migrations under `migrations/` must match these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jobmanager.store.types import UTCDateTime, new_id, utcnow

ID = String(36)


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The tenant's cap on jobs live at once (`jobmanager admin tenant cap`); null: the
    # service's default (JOBMANAGER_TENANT_MAX_LIVE_JOBS), itself null for no cap.
    max_live_jobs: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Credential(Base):
    """A client id and the slow salted hash of its secret; the secret itself is never stored."""

    __tablename__ = "credentials"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(128), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (Index("ix_models_tenant_name", "tenant_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(255), default="")
    author: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ModelVersion(Base):
    """One version of a model: its metadata and a pointer to its payload blob."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "number", name="uq_model_versions_number"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(255), default="")
    creation_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expiration_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    payload_key: Mapped[str] = mapped_column(String(255))
    payload_size: Mapped[int] = mapped_column(BigInteger, default=0)
    payload_kind: Mapped[str] = mapped_column(String(16), default="other")
    # What a notebook's metadata names (`domain.notebooks.NotebookFacts`); None otherwise.
    payload_kernel: Mapped[str | None] = mapped_column(String(255), nullable=True)
    payload_language: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload_warnings: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    payload_filename: Mapped[str] = mapped_column(String(255), default="")
    payload_media_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")


class DataEntry(Base):
    """A Data Exchange file or directory. The two roots are ids, not rows."""

    __tablename__ = "data_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "parent_id", "name", name="uq_data_entries_sibling_name"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    parent_id: Mapped[str] = mapped_column(String(36), index=True)
    name: Mapped[str] = mapped_column(String(1024))
    is_directory: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(String(255), default="")
    size_in_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # The file's content (a folder has none): one reference counted in `contents`.
    blob_key: Mapped[str | None] = mapped_column(
        String(255),
        ForeignKey("contents.blob_key", name="fk_data_entries_blob_key_contents"),
        nullable=True,
        index=True,
    )
    modified_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_by: Mapped[str] = mapped_column(String(255), default="")


class Content(Base):
    """A stored blob of a Data Exchange file or a job's output, kept once per content.

    A tenant's bytes of one SHA-256 are one blob, whoever refers to them: `refs` counts
    the files (`data_entries`) and job outputs (`job_outputs`) pointing to it, and is
    changed in the transaction that changes them (`store/contents.py`). The row, then
    its blob, goes when the count reaches zero; the foreign keys refuse to delete a
    content still referred to. `sha256` is null for files stored before contents were
    counted (migration 0008): they are never shared.
    """

    __tablename__ = "contents"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256", name="uq_contents_sha256"),)

    blob_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refs: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Configuration(Base):
    """An environment configuration: what an environment for a job is made from."""

    __tablename__ = "configurations"
    __table_args__ = (Index("ix_configurations_tenant_name", "tenant_id", "name"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    runtime: Mapped[str] = mapped_column(String(64), default="python3")
    packages: Mapped[list[str]] = mapped_column(JSON, default=list)
    cpus: Mapped[float | None] = mapped_column(nullable=True)
    memory_mib: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_processes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    disk_mib: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_environments: Mapped[int] = mapped_column(Integer, default=1)
    when_busy: Mapped[str] = mapped_column(String(16), default="queue")
    network: Mapped[str] = mapped_column(String(16), default="none")
    # Names of the service's named destinations its jobs may reach (domain/egress.py).
    network_allow: Mapped[list[str]] = mapped_column(JSON, default=list)
    environment_variables: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The retry policy of its jobs (`RetryPolicy.to_json`, domain/retries.py); null: none.
    retry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """A job. `status` is written only by the store's compare-and-set transition."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_created", "tenant_id", "creation_date", "id"),
        Index("ix_jobs_status_created", "status", "creation_date"),
        Index("ix_jobs_queue", "status", "tenant_id", "configuration_id", "creation_date"),
        UniqueConstraint("tenant_id", "idempotency_token", name="uq_jobs_idempotency"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(36))
    model_version_id: Mapped[str] = mapped_column(String(36))
    configuration_id: Mapped[str] = mapped_column(String(36), index=True)
    input_folder_id: Mapped[str] = mapped_column(String(36))
    output_folder_id: Mapped[str] = mapped_column(String(36))
    environment_id: Mapped[str] = mapped_column(String(64), default="")
    max_execution_seconds: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_token: Mapped[str | None] = mapped_column(String(128), nullable=True)
    schedule_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)

    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    creation_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stop_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Retries (domain/retries.py): the job's own policy (null: its configuration's), the
    # number of the attempt under way or next, and when a retried job may start again.
    retry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When a dispatch message was last sent for the waiting job (null: none, or its send
    # failed): the cluster's sweep re-sends only what is provably lost (store/sends.py).
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Accounting (an extension): written by the worker at the end of each phase, through
    # `JobRepository.record_accounting`; null until that phase ended.
    queued_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    starting_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    running_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    saving_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cpu_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    usage_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bytes_in: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bytes_out: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Provenance (an extension, docs/provenance.md): what the job ran on, written by the
    # worker once it is staged; the job it re-runs or repairs.
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rerun_of: Mapped[str | None] = mapped_column(String(36), nullable=True)
    repair_of: Mapped[str | None] = mapped_column(String(36), nullable=True)


class JobEvent(Base):
    """One event of a job's live stream (`GET /jobs/{id}/events`): a status change, a
    paragraph or cell starting or finishing, output, a truncation notice, the end.

    `seq` counts from 1 per job. Writers take the job's row lock before reading the last
    `seq` (see `store/events.py`), and the primary key refuses a duplicate all the same.
    Events go with their job (the foreign key cascades).
    """

    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_created", "created_at"),)

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobOutput(Base):
    """A file a job saved (an extension): its path in the output folder as saved, and the
    content it saved there, kept for the job even after a later job overwrote that path
    (one reference counted in `contents`). Deleted with the job."""

    __tablename__ = "job_outputs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(255), ForeignKey("contents.blob_key"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobAttempt(Base):
    """One attempt at running a job: who ran it, when, and how it ended.

    Written with the job's own moves: a claim opens the attempt, the move that ends it
    (final, or back to `SUBMITTED` for a retry) closes it with the outcome and message.
    """

    __tablename__ = "job_attempts"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    worker_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class EnvironmentSlot(Base):
    """A live environment holds one numbered slot of its configuration.

    The unique (configuration, slot) pair makes `maxEnvironments` a database rule:
    two claims of the same slot cannot both succeed, on any number of replicas.
    """

    __tablename__ = "environment_slots"
    __table_args__ = (
        UniqueConstraint("configuration_id", "slot", name="uq_environment_slots_slot"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    configuration_id: Mapped[str] = mapped_column(String(36))
    slot: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[str] = mapped_column(String(128))
    workdir: Mapped[str] = mapped_column(String(1024), default="")
    marker: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_tenant_created", "tenant_id", "creation_date"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    model_id: Mapped[str] = mapped_column(String(36))
    configuration_id: Mapped[str] = mapped_column(String(36))
    input_folder_id: Mapped[str] = mapped_column(String(36))
    output_folder_id: Mapped[str] = mapped_column(String(36))
    max_execution_seconds: Mapped[int] = mapped_column(Integer)
    schedule_string: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    misfire: Mapped[str] = mapped_column(String(16), default="once")
    overlap: Mapped[str] = mapped_column(String(16), default="skip")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    creation_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # A data-arrival trigger (instead of `schedule_string`, which is then empty).
    trigger_folder_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    trigger_pattern: Mapped[str | None] = mapped_column(String(255), nullable=True)
    trigger_debounce_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ScheduleFiring(Base):
    """One firing of a schedule; the unique (schedule, fire time) pair fires it exactly once."""

    __tablename__ = "schedule_firings"
    __table_args__ = (
        UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_firings_once"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    fire_time: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The files whose arrival fired a data-arrival trigger ([] for cron firings).
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class TriggerArrival(Base):
    """A file that arrived in a watched folder and has not fired its schedule yet.

    Written in the transaction that wrote the file, so no arrival is missed; the firing
    deletes the rows it fires for, and only the replica whose delete took them all fires.
    """

    __tablename__ = "trigger_arrivals"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    schedule_id: Mapped[str] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    file_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(1024))
    size_in_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Webhook(Base):
    """A tenant's receiver of job events. The secret signs deliveries, so it is kept:
    sealed with the key beside the signing keys (`auth/sealing.py`), never in clear."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_tenant_created", "tenant_id", "creation_date"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    longer_than_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    creation_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook, and its attempts. The unique (webhook, job, event)
    triple records each event once, however many replicas read the outbox."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "job_id", "event", name="uq_webhook_deliveries_once"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claim: Mapped[str | None] = mapped_column(String(36), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxCursor(Base):
    """How far a reader of `job_events` has read (by event time), shared by replicas."""

    __tablename__ = "outbox_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInFailure(Base):
    """Failed sign-ins counted within a minute, per key: an address, or a client id tried
    from an address (`domain/sign_ins.py`). Every replica counts on the same rows."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    failures: Mapped[int] = mapped_column(Integer)


class Member(Base):
    """A process of the cluster saying it is alive (`store/members.py`): an API replica,
    with the signing key and public URL it uses, or a worker. A row not seen for a
    heartbeat timeout is a process gone."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    public_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
