"""The metrics this process observes itself, for `/metrics` (Prometheus' text format).

These are counters and histograms of what happens in this process: the worker's phase
durations, the scheduler's firing lag, the API's requests, the blob bytes moved. Each
process has its own; figures that must hold across replicas and restarts (jobs by status,
the queue) are read from the database at scrape time instead (`api/metrics_registry.py`).
A `jobmanager worker` shows its own with `--metrics-port`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

PROCESS_METRICS = CollectorRegistry(auto_describe=True)
# Job phases and HTTP requests range from milliseconds to hours.
SECOND_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400)

JOB_PHASE_SECONDS = Histogram(
    "jobmanager_job_phase_seconds",
    "How long the phases of the jobs this process ran took",
    ["phase"],
    buckets=SECOND_BUCKETS,
    registry=PROCESS_METRICS,
)
SCHEDULE_FIRING_LAG_SECONDS = Histogram(
    "jobmanager_schedule_firing_lag_seconds",
    "From a schedule's fire time to this process creating its job",
    buckets=SECOND_BUCKETS,
    registry=PROCESS_METRICS,
)
HTTP_REQUESTS = Counter(
    "jobmanager_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
    registry=PROCESS_METRICS,
)
HTTP_REQUEST_SECONDS = Histogram(
    "jobmanager_http_request_seconds",
    "Time to answer an HTTP request (to the start of its answer), by method and route template",
    ["method", "route"],
    buckets=SECOND_BUCKETS,
    registry=PROCESS_METRICS,
)
BLOB_BYTES = Counter(
    "jobmanager_blob_bytes",
    "Bytes this process wrote to and read from the blob store",
    ["direction"],
    registry=PROCESS_METRICS,
)
PHASES = {
    "queued_seconds": "queued",
    "starting_seconds": "starting",
    "running_seconds": "running",
    "saving_seconds": "saving",
}
