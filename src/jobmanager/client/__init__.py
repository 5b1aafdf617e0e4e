"""A typed Python client for a jobmanager server: `Client` (blocking) and `AsyncClient`.

    from jobmanager.client import Client, NotFoundError

    with Client(url, client_id, client_secret) as api:
        model = api.create_model("forecast", "forecast.ipynb")
        for job in api.iter_jobs({"status": "FAILED"}):
            print(job.id, job.message)

Errors: `ApiError` (with `status`, `code`, `logref`, `message`) and its subclasses per
status; `ServerUnavailable` when the server cannot be reached.
"""

from jobmanager.client.aio import AsyncClient
from jobmanager.client.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    JobmanagerError,
    NotFoundError,
    ServerError,
    ServerUnavailable,
    TooLargeError,
    UnexpectedAnswer,
)
from jobmanager.client.events import JobEvent
from jobmanager.client.sync import Client
from jobmanager.client.types import (
    FINAL_STATUSES,
    PRIVATE_ROOT_ID,
    PUBLIC_ROOT_ID,
    Attempt,
    Configuration,
    Delivery,
    Directory,
    Entry,
    Environment,
    File,
    Firing,
    Job,
    JobOutput,
    ListPage,
    Model,
    Page,
    Progress,
    Provenance,
    Schedule,
    Trigger,
    Version,
    Webhook,
)

__all__ = [
    "FINAL_STATUSES",
    "PRIVATE_ROOT_ID",
    "PUBLIC_ROOT_ID",
    "ApiError",
    "AsyncClient",
    "Attempt",
    "AuthError",
    "BadRequestError",
    "Client",
    "Configuration",
    "ConflictError",
    "Delivery",
    "Directory",
    "Entry",
    "Environment",
    "File",
    "Firing",
    "ForbiddenError",
    "Job",
    "JobEvent",
    "JobOutput",
    "JobmanagerError",
    "ListPage",
    "Model",
    "NotFoundError",
    "Page",
    "Progress",
    "Provenance",
    "Schedule",
    "ServerError",
    "ServerUnavailable",
    "TooLargeError",
    "Trigger",
    "UnexpectedAnswer",
    "Version",
    "Webhook",
]
