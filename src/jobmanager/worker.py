"""The worker: claims waiting jobs and runs each from `STARTING` to a final status.

Read `JobRun.run` top to bottom for the life of a job. A monitor thread beats the
heart of every job this worker runs and watches for stop requests.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from jobmanager.domain.messages import chain, then
from jobmanager.domain.statuses import JobStatus
from jobmanager.engine import Environment, NoteFormatError, Outcome, Progress, RunResult
from jobmanager.environments import EnvironmentPool, spec_for
from jobmanager.settings import Settings
from jobmanager.staging import stage_input, stage_model, upload_outputs
from jobmanager.store.execution import Claim
from jobmanager.store.jobs import JobRecord
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.worker")

STOP_POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 2.0
STARTED = "Started notebook execution."


def new_worker_id() -> str:
    """`host:pid:random` — lets a reaper on the same host see that the process is gone."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobFailed(Exception):
    """A fatal step failed; `message` is the chain to show on the job."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Worker:
    def __init__(self, store: Store, settings: Settings, pool: EnvironmentPool) -> None:
        self.store = store
        self.settings = settings
        self.pool = pool
        self.worker_id = new_worker_id()
        self.home = settings.home
        self.environments_dir = settings.home / "environments"
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._monitor: threading.Thread | None = None

    # ------------------------------------------------------------ taking work

    def run_next(self) -> bool:
        """Claim the oldest job that can start now and run it; False when none can."""
        claim = self.store.execution.claim_next(self.worker_id)
        if claim is None:
            return False
        self.execute(claim)
        return True

    def run_job(self, job_id: str) -> bool:
        """Run this job if it is still waiting and can start now (a dispatch message)."""
        claim = self.store.execution.claim(job_id, self.worker_id)
        if claim is None:
            return False
        self.execute(claim)
        return True

    def execute(self, claim: Claim) -> None:
        stop = threading.Event()
        with self._lock:
            self._stops[claim.job.id] = stop
        try:
            JobRun(self, claim, stop).run()
        finally:
            with self._lock:
                self._stops.pop(claim.job.id, None)

    # ------------------------------------------------------------ liveness

    def start(self) -> None:
        self._monitor = threading.Thread(target=self._watch, name="worker-monitor", daemon=True)
        self._monitor.start()

    def stop(self) -> None:
        self._closing.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)

    def _watch(self) -> None:
        last_beat = 0.0
        while not self._closing.wait(STOP_POLL_SECONDS):
            try:
                with self._lock:
                    running = dict(self._stops)
                if not running:
                    continue
                for job_id in self.store.execution.stopping_jobs(self.worker_id):
                    if job_id in running:
                        running[job_id].set()
                if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                    self.store.execution.heartbeat(self.worker_id)
                    last_beat = time.monotonic()
            except Exception:
                log.exception("the worker monitor failed a round; it goes on")


class JobRun:
    """One claimed job, from `STARTING` to its final status."""

    def __init__(self, worker: Worker, claim: Claim, stop: threading.Event) -> None:
        self.worker = worker
        self.store = worker.store
        self.job: JobRecord = claim.job
        self.environment_id = claim.environment_id
        self.stop = stop
        self.environment: Environment | None = None

    def run(self) -> None:
        target, message = JobStatus.FAILED, ""
        try:
            self.environment = self._start_environment()
            model, kind = self._stage()
            if self._begin_running():
                result = self._execute(model, kind)
                target, message = self._judge(result)
            else:
                target, message = JobStatus.STOPPED, "Stopped on request before execution."
        except JobFailed as failure:
            target, message = JobStatus.FAILED, failure.message
            self._stopping(failure.message)
        except Exception as error:  # a bug must still end the job, never strand it
            log.exception("job %s failed unexpectedly", self.job.id)
            target, message = JobStatus.FAILED, chain("Job execution failed", str(error))
            self._stopping(message)
        saved, message = self._save_outputs(message)
        if not saved:
            target = JobStatus.FAILED
        message = self._stop_environment(message)
        self._finish(target, message)

    def _start_environment(self) -> Environment:
        try:
            configuration = self.store.configurations.get(
                self.job.tenant_id, self.job.configuration_id
            )
            spec = spec_for(configuration, self.worker.home, self.job.max_execution_seconds)
            environment = self.worker.pool.take(spec)
        except Exception as error:
            raise JobFailed(chain("Failed to start environment", str(error))) from error
        self.store.execution.attach_environment(
            self.environment_id, str(environment.root), environment.marker
        )
        return environment

    def _stage(self) -> tuple[Path, str]:
        assert self.environment is not None
        try:
            model, kind = stage_model(self.store, self.job, self.environment.root)
        except Exception as error:
            raise JobFailed(chain("Unable to import model", str(error))) from error
        try:
            stage_input(self.store, self.job, self.environment.input_dir)
        except Exception as error:
            raise JobFailed(chain("Unable to stage the input folder", str(error))) from error
        return model, kind

    def _begin_running(self) -> bool:
        """`STARTING -> RUNNING`; False when a stop request came first."""
        if self.stop.is_set():
            return False
        return self.store.jobs.transition(
            self.job.id,
            [JobStatus.STARTING],
            JobStatus.RUNNING,
            message=STARTED,
            running_since=utcnow(),
        )

    def _execute(self, model: Path, kind: str) -> RunResult:
        assert self.environment is not None
        deadline = time.monotonic() + self.job.max_execution_seconds
        unit = "cell" if kind == "jupyter" else "paragraph"

        def report(progress: Progress) -> None:
            self.store.jobs.set_progress(self.job.id, _progress(progress, unit))

        try:
            return self.environment.run(
                model,
                self.environment.output_dir / model.name,
                parameters=self.job.parameters,
                deadline=deadline,
                stop=self.stop,
                on_progress=report,
                stop_on_error=self.job.options.get("stopOnError"),
            )
        except NoteFormatError as error:
            raise JobFailed(chain("Unable to import model", str(error))) from error

    def _judge(self, result: RunResult) -> tuple[JobStatus, str]:
        if result.outcome is Outcome.SUCCEEDED:
            return JobStatus.SUCCEEDED, result.message or "Notebook execution finished."
        if result.outcome is Outcome.STOPPED:
            return JobStatus.STOPPED, "Stopped on request."
        if result.outcome is Outcome.TIMED_OUT:
            limit = self.job.max_execution_seconds
            exceeded = f"Maximum execution time of {limit} seconds exceeded"
            self._stopping(exceeded)
            return JobStatus.FAILED, chain(exceeded, result.message)
        return JobStatus.FAILED, result.message or "Notebook execution failed."

    def _stopping(self, reason: str) -> None:
        """`STOPPING` while the environment is stopped and the outputs saved (SPEC §1)."""
        self.store.jobs.transition(
            self.job.id,
            [JobStatus.STARTING, JobStatus.RUNNING],
            JobStatus.STOPPING,
            message=f"{reason}; stopping the environment and saving outputs.",
        )

    def _save_outputs(self, message: str) -> tuple[bool, str]:
        """Upload the outputs; False (and the message extended) when some could not be."""
        if self.environment is None:
            return True, message
        failed = upload_outputs(self.store, self.job, self.environment.output_dir)
        if failed:
            return False, then(message, chain("Failed to save outputs", ", ".join(failed[:10])))
        return True, message

    def _stop_environment(self, message: str) -> str:
        try:
            if self.environment is not None:
                self.environment.destroy()
        except Exception:
            log.exception("job %s: error while stopping its environment", self.job.id)
            message = then(message, "Error while stopping environment")
        finally:
            self.store.execution.release_environment(self.environment_id)
        return message

    def _finish(self, target: JobStatus, message: str) -> None:
        """The final status, from wherever the job is now (a stop may have come late)."""
        if target is JobStatus.STOPPED:
            sources = [JobStatus.STOPPING]
        elif target is JobStatus.SUCCEEDED:
            sources = [JobStatus.RUNNING]
        else:
            sources = [JobStatus.STARTING, JobStatus.RUNNING, JobStatus.STOPPING]
        if self.store.jobs.transition(self.job.id, sources, target, message=message):
            return
        self.store.jobs.transition(
            self.job.id, [JobStatus.STOPPING], JobStatus.STOPPED, message="Stopped on request."
        )


def _progress(progress: Progress, unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "current": progress.index,
        "total": progress.total,
        "title": progress.title,
        "text": f"{unit} {progress}",
    }
