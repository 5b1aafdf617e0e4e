"""A real `jobmanager serve` killed with SIGKILL while jobs run, then started again.

Every job must reach a final state with a message, the outputs written before the
kill must be in their output folders, the waiting jobs must run, and nothing of the
lost environments may still be running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.server import ServerProcess, environment_processes

LONG = note(
    "%python\nopen(outputFolder + '/before-crash.txt', 'w').write('saved')",
    "%python\nimport subprocess, time\n"
    "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
    "time.sleep(300)",
)
QUICK = note("%python\nopen(outputFolder + '/done.txt', 'w').write('ok')")


def test_sigkill_while_jobs_run_then_restart(
    tmp_path: Path, caller_of: Callable[[ServerProcess], Caller]
) -> None:
    home = tmp_path / "home"
    env = {"JOBMANAGER_JOB_SLOTS": "2", "JOBMANAGER_HEARTBEAT_TIMEOUT_SECONDS": "5"}
    server = ServerProcess(home, extra_env=env).start()
    try:
        caller = caller_of(server)
        configuration = caller.configuration(maxEnvironments=4)
        long_model, quick_model = caller.model(LONG, "long"), caller.model(QUICK, "quick")
        running = {}
        for n in range(2):
            output = caller.folder(f"long-{n}")
            running[caller.submit(long_model, configuration, output)] = output
        for job_id in running:
            caller.wait(job_id, lambda j: (j.get("progress") or {}).get("current") == 2)
        waiting = {}
        for n in range(2):
            output = caller.folder(f"quick-{n}")
            waiting[caller.submit(quick_model, configuration, output)] = output
        assert all(caller.job(j)["status"] == "SUBMITTED" for j in waiting)
        before_crash = environment_processes(home)
        assert before_crash

        server.kill()
        server.start()
        caller = caller_of(server)

        for job_id, output in running.items():
            job = caller.wait(job_id, lambda j: j["status"] in FINAL)
            assert job["status"] == "FAILED"
            assert job["message"].startswith("Environment lost [")
            assert caller.files(output)["before-crash.txt"] == b"saved"
        for job_id, output in waiting.items():
            job = caller.wait(job_id, lambda j: j["status"] in FINAL)
            assert job["status"] == "SUCCEEDED", job["message"]
            assert caller.files(output)["done.txt"] == b"ok"
        assert [p for p in before_crash if p.is_running()] == []
    finally:
        server.stop()
