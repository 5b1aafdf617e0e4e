"""Runs each job to its end inside `dispatch`: deterministic, for tests."""

from __future__ import annotations

from jobmanager.dispatch.base import Dispatcher
from jobmanager.jobrun.worker import Worker


class InlineDispatcher(Dispatcher):
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def dispatch(self, job_id: str) -> None:
        self.worker.run_job(job_id)
