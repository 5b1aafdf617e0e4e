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
from datetime import datetime
from pathlib import Path
from typing import Any

from jobmanager.common.home import environments_folder
from jobmanager.common.logs import log_fields
from jobmanager.common.loops import Every
from jobmanager.common.process_metrics import JOB_PHASE_SECONDS, PHASES
from jobmanager.domain.attempt_endings import (
    AttemptEnd,
    AttemptFacts,
    Ending,
    end_attempt,
)
from jobmanager.domain.messages import chain
from jobmanager.domain.parameters import parameters_for_run
from jobmanager.domain.provenance import replayed_note, step_to_repair
from jobmanager.domain.statuses import ACTIVE, JobStatus, sources_of
from jobmanager.domain.worker_ids import WorkerId
from jobmanager.engine import (
    DISK_FULL,
    STEP_OUTPUT_LIMITS,
    Environment,
    NoteFormatError,
    Outcome,
    Progress,
    RunResult,
    StepEnd,
)
from jobmanager.jobrun.environment_pool import EnvironmentPool, Isolation, spec_for
from jobmanager.jobrun.event_writer import EventWriter
from jobmanager.jobrun.staged_provenance import file_checksum, origin_warnings, staged_record
from jobmanager.jobrun.staging import (
    StagedInput,
    stage_executed_note,
    stage_input,
    stage_model,
    upload_outputs,
)
from jobmanager.startup.settings import Settings
from jobmanager.store.configurations import ConfigurationRecord
from jobmanager.store.execution import Claim
from jobmanager.store.jobs import JobRecord
from jobmanager.store.outages import database_away, patiently
from jobmanager.store.space import full_storage
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.worker")

STOP_POLL_SECONDS = 0.25
HEARTBEAT_SECONDS = 2.0
USAGE_SAMPLE_SECONDS = 1.0
TURN_SECONDS = 600.0  # a message's turn claims no new job after (RabbitMQ acks: 30 min)
STARTED = "Started notebook execution."
INTERNAL_ERROR = "an error inside the service; its log has the details"

# The one mapping from how the engine's run ended to how the attempt ended.
END_OF_RUN: dict[Outcome, AttemptEnd] = {
    Outcome.SUCCEEDED: AttemptEnd.SUCCEEDED,
    Outcome.FAILED: AttemptEnd.FAILED,
    Outcome.STOPPED: AttemptEnd.STOPPED,
    Outcome.TIMED_OUT: AttemptEnd.TIMED_OUT,
    Outcome.LIMIT_EXCEEDED: AttemptEnd.LIMIT_EXCEEDED,
}


class JobFailed(Exception):
    """The attempt ended before its run did: `message` is the chain to show on the job
    (for `SHUT_DOWN`: the cause under its sentence)."""

    def __init__(self, message: str, end: AttemptEnd = AttemptEnd.BROKEN) -> None:
        super().__init__(message)
        self.message = message
        self.end = end


class Worker:
    def __init__(
        self, store: Store, settings: Settings, pool: EnvironmentPool, isolation: Isolation
    ) -> None:
        self.store = store
        self.settings = settings
        self.pool = pool
        self.isolation = isolation
        self.worker_id = str(WorkerId.new(socket.gethostname(), os.getpid()))
        self.environments_dir = environments_folder(settings.home)
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.shutting_down = threading.Event()
        self.monitor = Every("worker-monitor", STOP_POLL_SECONDS, self._watch, away=database_away)
        self._last_beat = 0.0

    # ------------------------------------------------------------ taking work

    def run_next(self) -> bool:
        """Claim the oldest job that can start now and run it; False when none can."""
        if self.shutting_down.is_set():
            return False
        claim = self.store.execution.claim_next(self.worker_id)
        if claim is None:
            return False
        self.execute(claim)
        return True

    def take_turn(self, job_id: str) -> bool:
        """A dispatch message is a turn, not an order: run the job the fair order puts
        first (often `job_id`), so that a tenant's thousand messages queued in the broker
        do not hold back another tenant's job. Then go on with the next job that can
        start while there is one, for up to TURN_SECONDS (the broker takes an unacked
        message for lost after a while) or until this worker shuts down: the broker only
        wakes workers, a job whose message was lost runs all the same, and a message
        whose job someone else ran costs one claim. The named job, if it must wait, keeps
        its turn through the sweep's messages (store/sends.py)."""
        del job_id
        ran, began = False, time.monotonic()
        while time.monotonic() - began < TURN_SECONDS and self.run_next():
            ran = True
        return ran

    def run_job(self, job_id: str) -> bool:
        """Run this job if it is still waiting and can start now (the inline dispatch)."""
        if self.shutting_down.is_set():
            return False
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
            with log_fields(tenant=claim.job.tenant_id, job=claim.job.id):
                JobRun(self, claim, stop).run()
        finally:
            with self._lock:
                self._stops.pop(claim.job.id, None)

    # ------------------------------------------------------------ liveness

    def start(self) -> None:
        self.monitor.start()

    def stop(self) -> None:
        self.monitor.stop()

    def take_no_more(self) -> None:
        """Claim no more jobs; the running ones go on (a Celery worker's warm shutdown)."""
        self.shutting_down.set()

    def shut_down(self) -> None:
        """Take no more jobs and end the running ones (they save their outputs and end
        `FAILED`, saying the service shut down); the caller waits for their threads."""
        self.take_no_more()
        with self._lock:
            running = list(self._stops.values())
        for stop in running:
            stop.set()

    def _watch(self) -> None:
        """Pass stop requests on to the running jobs; beat their heart now and then."""
        with self._lock:
            running = dict(self._stops)
        if not running:
            return
        for job_id in self.store.execution.stopping_jobs(self.worker_id):
            if job_id in running:
                running[job_id].set()
        if time.monotonic() - self._last_beat >= HEARTBEAT_SECONDS:
            self.store.execution.heartbeat(self.worker_id)
            self._last_beat = time.monotonic()
            # A job a reaper took over (this worker was thought dead) must not run on
            # here beside its next attempt: end it; its moves are refused anyway.
            for job_id in self.store.execution.taken_over(self.worker_id, list(running)):
                log.warning("job %s was taken over by another process; ending it here", job_id)
                running[job_id].set()


class JobRun:
    """One claimed job, from `STARTING` to its final status."""

    def __init__(self, worker: Worker, claim: Claim, stop: threading.Event) -> None:
        self.worker = worker
        self.store = worker.store
        self.job: JobRecord = claim.job
        self.environment_id = claim.environment_id
        self.stop = stop
        self.environment: Environment | None = None
        self.policy = patiently(
            lambda: self.store.jobs.retry_policy(claim.job), "reading the retry policy"
        )
        self.status = JobStatus.STARTING  # as this run knows it
        # The phase under way and when it began (accounting: see `_next_phase`).
        self._phase: str | None = "queued_seconds"
        self._phase_began = claim.job.creation_date
        self.configuration: ConfigurationRecord | None = None
        self.notes: list[str] = []  # warnings and a repair's replay, for the message
        # How far the run went (provenance: where a repair would start).
        self._failed_step: int | None = None
        self._last_ended = 0

    def run(self) -> None:
        self._next_phase("starting_seconds", at=self.job.start_date)
        try:
            self.environment = self._start_environment()
            model, kind = self._stage()
            if self._begin_running():
                result = self._execute(model, kind)
                ending = self._ending(self._end_of_run(result.outcome), result.message)
            else:
                ending = self._ending(AttemptEnd.NOT_STARTED)
        except JobFailed as failure:
            ending = self._ending(failure.end, failure.message)
        except Exception as error:  # a bug must still end the job, never strand it
            log.exception("job %s failed unexpectedly", self.job.id)
            # Its text is the service's business (the log has it), not the job's.
            cause = DISK_FULL if full_storage(error) else INTERNAL_ERROR
            ending = self._ending(AttemptEnd.BROKEN, chain("Job execution failed", cause))
        if ending.shows_stopping:
            self._stopping(ending.message)
        self._next_phase("saving_seconds", **self._usage())
        ending = self._stop_environment(ending)
        ending = self._save_outputs(ending).adding(*self.notes)
        self._next_phase(None)
        # The database may be restarting, its disk full: the job's end waits for it
        # (heartbeat and all).
        patiently(self._release_environment, "freeing the job's slot", for_room=True)
        patiently(lambda: self._finish(ending), "ending the job", for_room=True)
        self._discard_environment()

    def _start_environment(self) -> Environment:
        try:
            configuration = patiently(
                lambda: self.store.configurations.get(
                    self.job.tenant_id, self.job.configuration_id
                ),
                "reading the configuration",
            )
            self.configuration = configuration
            spec = spec_for(configuration, self.worker.isolation, self.job.max_execution_seconds)
            environment = self.worker.pool.take(spec)
        except Exception as error:
            raise JobFailed(chain("Failed to start environment", str(error))) from error
        patiently(
            lambda: self.store.execution.attach_environment(
                self.environment_id, str(environment.root), environment.marker
            ),
            "recording the environment",
        )
        return environment

    def _stage(self) -> tuple[Path, str]:
        environment = self.environment
        assert environment is not None
        try:
            model, kind = patiently(
                lambda: stage_model(self.store, self.job, environment.root), "staging the model"
            )
            checksum = file_checksum(model)
        except Exception as error:
            raise JobFailed(chain("Unable to import model", str(error))) from error
        if self.job.repair_of is not None:
            try:
                origin = self.store.jobs.get(self.job.tenant_id, self.job.repair_of)
                stage_executed_note(self.store, self.job, origin, model)
            except Exception as error:
                raise JobFailed(chain("Unable to repair", str(error))) from error
        try:
            staged = patiently(
                lambda: stage_input(self.store, self.job, environment.input_dir),
                "staging the input folder",
            )
        except Exception as error:
            raise JobFailed(chain("Unable to stage the input folder", str(error))) from error
        self._record(bytes_in=staged.bytes)
        self._record_provenance(model, checksum, staged)
        return model, kind

    def _record_provenance(self, model: Path, checksum: str, staged: StagedInput) -> None:
        """What the job runs on, and how it differs from the job it re-runs or repairs.
        For the record: a failure to write it is logged, not the job's."""
        assert self.environment is not None
        assert self.configuration is not None
        try:
            python = self.environment.spec.python
            record = staged_record(
                self.job, checksum, model.name, staged, self.configuration, python
            )
            self.store.jobs.record_provenance(self.job.id, **record)
            self.notes.extend(origin_warnings(self.store, self.job, record))
        except Exception:
            log.exception("job %s: its provenance could not be written", self.job.id)

    def _begin_running(self) -> bool:
        """`STARTING -> RUNNING`; False when a stop request came first."""
        if self.stop.is_set():
            if self.worker.shutting_down.is_set():
                raise JobFailed("before the model ran", AttemptEnd.SHUT_DOWN)
            return False
        now = utcnow()
        started = " ".join([STARTED, *self.notes])
        moved = patiently(
            lambda: self.store.jobs.transition(
                self.job.id,
                [JobStatus.STARTING],
                JobStatus.RUNNING,
                of_attempt=self.job.attempt,
                message=started,
                running_since=now,
            ),
            "starting the job",
        )
        if moved:
            self.status = JobStatus.RUNNING
            self._next_phase("running_seconds", at=now)
        return moved

    def _execute(self, model: Path, kind: str) -> RunResult:
        assert self.environment is not None
        deadline = time.monotonic() + self.job.max_execution_seconds
        unit = "cell" if kind == "jupyter" else "paragraph"
        step_limit = STEP_OUTPUT_LIMITS.get(kind, min(STEP_OUTPUT_LIMITS.values()))
        events = EventWriter(self.store.events, self.job.id, unit, step_limit)

        def report(progress: Progress) -> None:
            self._show_progress(_progress(progress, unit))
            events.started(progress)

        def ended(end: StepEnd) -> None:
            if end.status != "FINISHED" and self._failed_step is None:
                self._failed_step = end.index
            self._last_ended = end.index
            events.step_end(end)

        sampler = Every(f"usage-{self.job.id}", USAGE_SAMPLE_SECONDS, self._sample_usage)
        sampler.start()
        replay_before = int(self.job.options.get("repairFrom") or 0)
        try:
            result = self.environment.run(
                model,
                self.environment.layout.executed_dir / model.name,
                parameters=parameters_for_run(self.job.parameters),
                deadline=deadline,
                stop=self.stop,
                on_progress=report,
                stop_on_error=self.job.options.get("stopOnError"),
                on_output=events.output,
                on_step_end=ended,
                replay_before=replay_before,
                note_metadata={"jobId": self.job.id},
            )
        except NoteFormatError as error:
            raise JobFailed(chain("Unable to import model", str(error))) from error
        finally:
            sampler.stop()
            events.close()
        self._record_run(result, unit, replay_before)
        return result

    def _record_run(self, result: RunResult, unit: str, replay_before: int) -> None:
        """Provenance of the run: where a repair would start, what this one replayed."""
        if self.job.repair_of is not None:
            self.notes.append(replayed_note(self.job.repair_of, result.replayed, unit))
        if result.succeeded and not result.replayed:
            return  # nothing to add: no write on the way most jobs go
        entries: dict[str, Any] = {"replayed": list(result.replayed)}
        if not result.succeeded:
            failed = step_to_repair(self._failed_step, self._last_ended, replay_before)
            entries["failedStep"] = failed
        try:
            self.store.jobs.record_provenance(self.job.id, **entries)
        except Exception:
            log.exception("job %s: its provenance could not be written", self.job.id)

    def _show_progress(self, progress: dict[str, Any]) -> None:
        """Progress is for the caller to see: a failure to write it (the database
        restarting) must not end the run; the next step writes it again."""
        try:
            self.store.jobs.set_progress(self.job.id, progress)
        except Exception:
            log.exception("job %s: its progress could not be written", self.job.id)

    def _end_of_run(self, outcome: Outcome) -> AttemptEnd:
        """How the attempt ended, from how its run did (a stop the shut-down asked for
        is the service's doing, not the caller's)."""
        end = END_OF_RUN[outcome]
        if end is AttemptEnd.STOPPED and self.worker.shutting_down.is_set():
            return AttemptEnd.SHUT_DOWN
        return end

    def _ending(self, end: AttemptEnd, cause: str = "") -> Ending:
        """How the attempt ends: tried again, or its final status (domain/attempt_endings.py)."""
        facts = AttemptFacts(
            end=end,
            attempt=self.job.attempt,
            policy=self.policy,
            stop_asked=self.stop.is_set(),
            status=self.status,
            time_limit_seconds=self.job.max_execution_seconds,
            cause=cause,
        )
        return end_attempt(facts)

    def _stopping(self, reason: str) -> None:
        """`STOPPING` while the environment is stopped and the outputs saved (SPEC §1).
        For the caller to see: when it cannot be written (the job's own files filled the
        disk), the job goes on to its end, which saving its outputs makes room for."""
        try:
            patiently(
                lambda: self.store.jobs.transition(
                    self.job.id,
                    [JobStatus.STARTING, JobStatus.RUNNING],
                    JobStatus.STOPPING,
                    of_attempt=self.job.attempt,
                    message=f"{reason}; stopping the environment and saving outputs.",
                ),
                "stopping the job",
            )
        except Exception:
            log.exception("job %s: could not show it stopping", self.job.id)

    def _save_outputs(self, ending: Ending) -> Ending:
        """Upload the outputs once nothing of the environment runs any more (nothing can
        swap a file for a link then); the ending says when some could not be saved."""
        if self.environment is None:
            return ending
        uploaded = upload_outputs(
            self.store,
            self.job,
            self.environment.layout,
            self.worker.settings.max_upload_bytes,
            ending.output_folder,
        )
        self._record(bytes_out=uploaded.bytes)
        if uploaded.failed:
            return ending.outputs_lost(", ".join(uploaded.failed[:10]))
        return ending

    def _stop_environment(self, ending: Ending) -> Ending:
        """Kill every process of the environment: before its outputs are read, so that
        nothing can swap a file for a link to the service's own files any more."""
        try:
            if self.environment is not None:
                self.environment.kill_processes()
        except Exception:
            log.exception("job %s: error while stopping its environment", self.job.id)
            return ending.adding("Error while stopping environment")
        return ending

    # ------------------------------------------------------------ accounting

    def _next_phase(self, phase: str | None, at: datetime | None = None, **figures: Any) -> None:
        """End the phase under way at `at` (now by default): its seconds, with `figures`,
        go on the job; `phase` (None: no more) begins then."""
        at = at or utcnow()
        if self._phase is not None:
            seconds = max(0.0, (at - self._phase_began).total_seconds())
            figures[self._phase] = seconds
            JOB_PHASE_SECONDS.labels(PHASES[self._phase]).observe(seconds)
        self._phase, self._phase_began = phase, at
        self._record(**figures)

    def _record(self, **figures: Any) -> None:
        """Accounting is for the record: a failure to write it must not fail the job."""
        try:
            self.store.jobs.record_accounting(self.job.id, **figures)
        except Exception:
            log.exception("job %s: its accounting could not be written", self.job.id)

    def _sample_usage(self) -> None:
        if self.environment is not None:
            self.environment.usage()

    def _usage(self) -> dict[str, Any]:
        """The environment's peak memory and CPU seconds, before its processes end."""
        if self.environment is None:
            return {}
        try:
            usage = self.environment.usage()
        except Exception:
            log.exception("job %s: its environment's usage could not be read", self.job.id)
            return {}
        return {
            "peak_memory_bytes": usage.peak_memory_bytes,
            "cpu_seconds": usage.cpu_seconds,
            "usage_source": usage.source,
        }

    def _release_environment(self) -> None:
        self.store.execution.release_environment(self.environment_id)

    def _discard_environment(self) -> None:
        """Delete what is left of the environment (its files, its cgroup), once the job is
        final: its processes are gone already, nothing the caller waits for is here."""
        try:
            if self.environment is not None:
                self.environment.destroy()
        except Exception:
            log.exception("job %s: its environment's files could not be removed", self.job.id)

    def _finish(self, ending: Ending) -> None:
        """Back to wait for the next attempt, or the final status, from wherever the job
        is now (a stop may have come late: then the store refuses the retry)."""
        attempt = self.job.attempt
        if ending.wait_seconds is not None and self.store.jobs.retry(
            self.job.id, attempt, ending.wait_seconds, ending.message
        ):
            log.info("job %s attempt %d failed; %s", self.job.id, attempt, ending.message)
            return
        target, message = ending.final, ending.account
        sources = sources_of(target) & ACTIVE
        log.info("job %s ended %s: %s", self.job.id, target.value, message)
        if self.store.jobs.transition(
            self.job.id, sources, target, of_attempt=attempt, message=message
        ):
            return
        late = ending.overtaken_by_stop()
        self.store.jobs.transition(
            self.job.id, [JobStatus.STOPPING], late.final, of_attempt=attempt, message=late.account
        )


def _progress(progress: Progress, unit: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "current": progress.index,
        "total": progress.total,
        "title": progress.title,
        "text": f"{unit} {progress}",
    }
