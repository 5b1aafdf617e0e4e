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
    Directory,
    Entry,
    Environment,
    File,
    Job,
    ListPage,
    Model,
    Page,
    Progress,
    Schedule,
    Version,
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
    "Directory",
    "Entry",
    "Environment",
    "File",
    "ForbiddenError",
    "Job",
    "JobEvent",
    "JobmanagerError",
    "ListPage",
    "Model",
    "NotFoundError",
    "Page",
    "Progress",
    "Schedule",
    "ServerError",
    "ServerUnavailable",
    "TooLargeError",
    "UnexpectedAnswer",
    "Version",
]
