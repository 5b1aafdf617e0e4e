"""A service that stops takes its jobs' environments with it, and leaves no job `RUNNING`.

SIGTERM: the running jobs are ended (outputs saved, `FAILED` saying the service shut
down) before the process exits. SIGKILL: every sandbox dies with the service at once,
whatever it forked, without waiting for the next start to reap it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil

from jobmanager.common.home import environments_folder
from jobmanager.engine.processes import MARKER_VARIABLE
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.acceptance.api import Caller, note
from tests.acceptance.server import ServerProcess

LONG = note(
    "%python\nimport os, json\nopen(outputFolder + '/marker.json', 'w').write("
    f"json.dumps(os.environ[{MARKER_VARIABLE!r}]))",
    "%sh\nsetsid sleep 100000 &\nnohup sleep 100000 > /dev/null 2>&1 &\necho started",
    "%python\nimport time\ntime.sleep(100000)",
)


def marked(markers: set[str]) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARKER_VARIABLE) in markers:
                found.append(process)
        except psutil.Error:
            continue
    return found


def start_long_jobs(server: ServerProcess, count: int) -> dict[str, str]:
    """`count` jobs in their last, endless paragraph; their ids and output folders."""
    caller = Caller(server.url, server.token())
    try:
        configuration = caller.configuration(maxEnvironments=count)
        model = caller.model(LONG, "long")
        folders = [caller.folder(f"o{n}") for n in range(count)]
        jobs = {caller.submit(model, configuration, folder): "" for folder in folders}
        for job_id in jobs:
            job = caller.wait(job_id, lambda j: (j.get("progress") or {}).get("current") == 3)
            jobs[job_id] = job["outputFolderId"]
        return jobs
    finally:
        caller.close()


def markers_of(home: Path) -> set[str]:
    return {
        json.loads(path.read_text())
        for path in environments_folder(home).glob("*/work/output/marker.json")
    }


def test_sigterm_ends_running_jobs_before_the_service_exits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServerProcess(home, extra_env={"JOBMANAGER_JOB_SLOTS": "2"}).start()
    try:
        jobs = start_long_jobs(server, 2)
        markers = markers_of(home)
        assert len(markers) == 2 and marked(markers)
        started = time.monotonic()
        server.stop()
        assert server.process is not None and server.process.returncode is not None
        assert time.monotonic() - started < 15
    finally:
        server.kill()
    assert marked(markers) == []
    services = Services.open(Settings(home=home), migrate=False)
    try:
        tenant = services.store.tenants.all()[0].id
        for job_id, output in jobs.items():
            job = services.store.jobs.get(tenant, job_id)
            assert job.status.value == "FAILED"
            assert job.message.startswith("The service shut down while the job ran"), job.message
            saved = dict(services.store.dataexchange.list_tree(tenant, output))
            assert "marker.json" in saved and "long_2ACCEPT.zpln" in saved
    finally:
        services.close()


def test_sigkill_takes_every_sandbox_with_the_service(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = ServerProcess(home, extra_env={"JOBMANAGER_JOB_SLOTS": "2"}).start()
    try:
        start_long_jobs(server, 2)
        markers = markers_of(home)
        assert marked(markers)
        assert server.process is not None
        server.process.kill()  # the service only, not its process group
        server.process.wait(10)
        deadline = time.monotonic() + 5
        while marked(markers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marked(markers) == []
    finally:
        server.kill()
