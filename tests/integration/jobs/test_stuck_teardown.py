"""A job whose environment cannot be torn down (a process that survives SIGKILL, a
folder that cannot be removed) still reaches its final status at once; the teardown
that follows ends in bounded time and logs what it left behind."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobmanager.engine.cgroups import CgroupsUnavailable, Hierarchy
from jobmanager.engine.layout import Layout
from jobmanager.startup.services import Services
from jobmanager.store.execution import SlotRecord
from tests.conftest import TenantClient
from tests.integration.jobs.api import FINAL, wait_for, zeppelin_note
from tests.integration.jobs.test_job_runs import submit
from tests.integration.stuck import frozen, mounted, needs_freezer, processes_named

GO = "go"  # the file the note waits for in its working folder


@needs_freezer
@pytest.mark.parametrize("backend", ["sqlite"])  # the store plays no part in this
def test_a_stuck_teardown_is_logged_after_the_job_ended(
    client: TestClient,
    services: Services,
    tenant_a: TenantClient,
    folders: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    note = zeppelin_note(
        # in the kernel's sandbox: a `%sh` paragraph's sandbox ends with it
        "%python\nimport subprocess\nsubprocess.Popen(['sleep', '600'], start_new_session=True)",
        f"%python\nimport os, time\nwhile not os.path.exists({GO!r}): time.sleep(0.05)",
    )
    job = submit(client, tenant_a, note, folders)
    slot = _slot_when_running(services, job["id"])
    root = Path(slot.workdir)
    (sleeper,) = _wait_for_processes("sleep", slot.marker)
    try:
        with mounted(root / "stuck"), frozen([sleeper]):
            (Layout(root).input_dir / GO).write_text("")
            went = time.monotonic()
            done = wait_for(client, tenant_a, job["id"], FINAL, timeout=30)
            assert done["status"] == "SUCCEEDED", done["message"]
            assert time.monotonic() - went < 20
            _wait_for_log(caplog, f"removing {root} left behind {root / 'stuck'}")
            assert f"process {sleeper} survived SIGKILL" in caplog.text
    finally:
        shutil.rmtree(root, ignore_errors=True)
        _remove_cgroups(f"jm-{slot.marker}")


def _slot_when_running(services: Services, job_id: str) -> SlotRecord:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        slot = services.store.execution.environment_of(job_id)
        if slot is not None and slot.marker:
            return slot
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} got no environment")


def _wait_for_processes(name: str, marker: str) -> list[int]:
    deadline = time.monotonic() + 60
    while not (found := processes_named(name, marker)):
        assert time.monotonic() < deadline, f"no {name} process in the environment"
        time.sleep(0.1)
    return found


def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in caplog.text:
        assert time.monotonic() < deadline, f"not logged: {text}\n{caplog.text}"
        time.sleep(0.1)


def _remove_cgroups(name: str) -> None:
    """The environment's cgroups, left behind with the frozen process (now gone)."""
    with contextlib.suppress(CgroupsUnavailable):
        for parent in set(Hierarchy.detect().parents.values()):
            with contextlib.suppress(FileNotFoundError):
                _rmdir_soon(parent / name)


def _rmdir_soon(folder: Path) -> None:
    for _ in range(100):
        try:
            folder.rmdir()
            return
        except OSError:
            if not folder.exists():
                return
            time.sleep(0.05)
