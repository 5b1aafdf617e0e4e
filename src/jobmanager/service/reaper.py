"""The reaper: finishes the story of jobs whose worker died.

A job whose heartbeat is too old — or whose worker process on this host no longer
exists — is taken over by compare-and-set on its worker id, its environment's
processes are killed, the outputs left in its workdir are uploaded, and it ends
`FAILED` (or `STOPPED` when it was being stopped) with a message saying so — unless its
retry policy retries `environmentLost`: then the outputs go under the attempt's name
and the job waits for its next attempt (`domain/attempt_endings.py` decides, as for
the worker).
The same periodic loop purges final jobs past the retention period, and finished
webhook deliveries as old.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psutil
from sqlalchemy.exc import DBAPIError

from jobmanager.common.loops import Every
from jobmanager.domain.attempt_endings import AttemptEnd, AttemptFacts, end_attempt
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.engine.layout import Layout, regular_files
from jobmanager.engine.teardown import Teardown
from jobmanager.jobrun.staging import upload_outputs
from jobmanager.startup.settings import Settings
from jobmanager.store.jobs import JobRecord
from jobmanager.store.outages import database_away
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.reaper")


class Reaper:
    def __init__(self, store: Store, settings: Settings, reaper_id: str) -> None:
        self.store = store
        self.settings = settings
        self.reaper_id = reaper_id
        self.loop = Every(
            "reaper", settings.reaper_interval_seconds, self._round, away=database_away
        )
        # When this reaper last found the database back after failing to reach it; while
        # it is away no worker can beat either, so ages count from then (see `_stale_jobs`).
        self._blind = False
        self._sighted_at = float("-inf")

    def _round(self) -> None:
        try:
            self.reap_once()
        except DBAPIError:
            self._blind = True
            raise
        self.purge_once()

    def reap_once(self) -> int:
        """Recover every job whose worker is gone; return how many."""
        lost = self._stale_jobs()
        here = WorkerId.host_prefix(socket.gethostname())
        for job in self.store.execution.live_jobs_of_workers(here):
            if not _worker_alive(job.worker_id):
                lost[job.id] = job
        recovered = 0
        for job in lost.values():
            if job.worker_id != self.reaper_id and self.store.execution.take_over(
                job, self.reaper_id
            ):
                self.recover(job)
                recovered += 1
        return recovered

    def _stale_jobs(self) -> dict[str, JobRecord]:
        """Jobs whose heartbeat is older than the timeout — judged only once the database
        has been within reach for a whole timeout: a database restart silences every
        worker's heartbeat without any worker being lost."""
        timeout = self.settings.heartbeat_timeout_seconds
        if self._blind:
            self._blind, self._sighted_at = False, time.monotonic()
            log.info("the database is back; heartbeats are judged again in %.0f s", timeout)
        if time.monotonic() - self._sighted_at < timeout:
            return {}
        cutoff = utcnow() - timedelta(seconds=timeout)
        return {job.id: job for job in self.store.execution.stale_jobs(cutoff)}

    def recover(self, job: JobRecord) -> None:
        facts = AttemptFacts(
            end=AttemptEnd.ENVIRONMENT_LOST,
            attempt=job.attempt,
            policy=self.store.jobs.retry_policy(job),
            stop_asked=job.stop_requested,
            status=job.status,
            time_limit_seconds=job.max_execution_seconds,
        )
        slot = self.store.execution.environment_of(job.id)
        salvaged = ""
        if slot is not None:
            layout = Layout(Path(slot.workdir)) if slot.workdir else None
            teardown = Teardown.of_marked(layout.root if layout else None, slot.marker)
            teardown.kill()
            salvaged = self._salvage(job, layout, end_attempt(facts).output_folder)
            teardown.finish()
            self.store.execution.release_environment(slot.id)
        ending = end_attempt(replace(facts, cause="the process running the job stopped" + salvaged))
        if ending.wait_seconds is not None and self.store.jobs.retry(
            job.id, job.attempt, ending.wait_seconds, ending.message
        ):
            log.info("job %s lost its environment; retrying: %s", job.id, ending.message)
            return
        self.store.jobs.transition(
            job.id, [job.status], ending.final, of_attempt=job.attempt, message=ending.account
        )
        log.info("recovered job %s: %s", job.id, ending.account)

    def _salvage(self, job: JobRecord, layout: Layout | None, folder: str) -> str:
        if layout is None or not layout.root.is_dir():
            return ""
        files = [*regular_files(layout.output_dir), *regular_files(layout.executed_dir)]
        limit = self.settings.max_upload_bytes
        failed = upload_outputs(self.store, job, layout, limit, folder).failed
        return f"; {len(files) - len(failed)} output files salvaged"

    def purge_once(self) -> int:
        cutoff = utcnow() - timedelta(days=self.settings.retention_days)
        purged = self.store.execution.purge_final(cutoff)
        if purged:
            log.info("purged %d jobs that ended before %s", purged, cutoff.isoformat())
        self.store.deliveries.purge_finished(cutoff)
        self.store.sign_ins.forget_expired(utcnow())
        return purged


def _worker_alive(worker_id: str | None) -> bool:
    """Whether a worker on this host still has a process."""
    if not worker_id:
        return False
    parsed = WorkerId.parse(worker_id)
    if parsed is None:
        return True  # not ours to judge: leave it to the heartbeat
    return bool(psutil.pid_exists(parsed.pid))
