"""Upgrade drill: the previous release and this one side by side on one PostgreSQL.

Run: .venv/bin/python bench/upgrade_drill.py [--previous f23ceae]

The previous release is built from git (`git archive`, a wheel, a virtual environment of
its own under /tmp, made once and kept). Against a throwaway database of the machine's
PostgreSQL, a private Redis as the broker and a shared blob folder, the drill:
1. runs an old API replica and an old worker, as a cluster of the previous release is;
2. starts a new replica while the old one serves: it migrates the database at start;
3. tries, with the old worker, then with a new one in its place, what a cluster in the
   middle of a rolling upgrade does: reads, uploads, jobs submitted through either
   replica, a delete through the old replica of a file whose bytes another shares;
4. restarts an old replica and an old worker on the migrated database.
Each step prints what happened. docs/deploy.md, Upgrading, shows a run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.acceptance.api import DX, FINAL, Caller, note
from tests.acceptance.private_services import PrivateRedis
from tests.acceptance.server import free_port
from tests.conftest import own_postgres_database

from jobmanager.store.db import Database, head_revision

REPOSITORY = Path(__file__).resolve().parents[1]
NOTE = note(
    "%python\nimport os, uuid\n"
    "open(os.path.join(outputFolder, 'out.txt'), 'w').write('run-' + uuid.uuid4().hex)"
)
LAST_JOB: dict[int | None, str] = {}  # by replica: the job submitted last
MAKE_TENANT = """
import json, sys
from pathlib import Path
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
services = Services.open(Settings(home=Path(sys.argv[1]), database_url=sys.argv[2]))
services.store.tenants.create("acme")
made = services.store.tenants.create_credentials("acme")
print(json.dumps({"clientId": made.client_id, "clientSecret": made.client_secret}))
services.close()
"""


def previous_release(commit: str) -> Path:
    """The python of a virtual environment holding the release at `commit` (and Celery)."""
    root = Path(tempfile.gettempdir()) / f"jm-previous-{commit}"
    python = root / "venv" / "bin" / "python"
    if (root / "installed").exists():
        return python
    shutil.rmtree(root, ignore_errors=True)
    (root / "source").mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", commit], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(root / "source")], input=archive.stdout, check=True)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "wheel"], check=True)
    build = [str(python), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(root / "wheel")]
    subprocess.run([*build, str(root / "source")], check=True)
    (wheel,) = (root / "wheel").glob("jobmanager-*.whl")
    subprocess.run([*pip, f"{wheel}[celery]"], check=True)
    (root / "installed").touch()
    return python


class Process:
    """`jobmanager serve` or `worker` of one release, with a home and a log of its own."""

    def __init__(self, python: Path, command: list[str], home: Path, env: dict[str, str]):
        self.home, self.port = home, free_port()
        self.log = home.with_suffix(".log")
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        environment = {**os.environ, **env, "JOBMANAGER_HOME": str(home)}
        environment["JOBMANAGER_PORT"] = str(self.port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(python), "-m", "jobmanager", *command],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def healthy(self, timeout: float = 90) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                time.sleep(0.2)
        return False

    def ended(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def last_error(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        said = [line for line in lines if "rror" in line or "FAIL" in line] or lines
        return said[-1].strip() if said else "(no output)"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            if self.ended(60) is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class Drill:
    def __init__(self, root: Path, old: Path, shared: dict[str, str], stack: ExitStack):
        self.root, self.old, self.shared, self.stack = root, old, shared, stack
        self.new = Path(sys.executable)
        self.credentials: dict[str, str] = {}

    def make_tenant(self) -> None:
        home = self.root / "operator"
        url = self.shared["JOBMANAGER_DATABASE_URL"]
        made = subprocess.run(
            [str(self.old), "-c", MAKE_TENANT, str(home), url],
            check=True,
            capture_output=True,
            text=True,
        )
        self.credentials = json.loads(made.stdout.strip().splitlines()[-1])

    def start(self, release: str, command: str, name: str) -> Process:
        python = self.old if release == "old" else self.new
        home = self.root / name
        if command == "serve":
            shutil.copytree(self.root / "operator" / "keys", home / "keys")
        env = {**self.shared, "JOBMANAGER_JOB_SLOTS": "0" if command == "serve" else "1"}
        process = Process(python, [command], home, env)
        self.stack.callback(process.stop)
        return process

    def caller(self, replica: Process) -> Caller:
        answer = httpx.post(
            f"{replica.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(self.credentials["clientId"], self.credentials["clientSecret"]),
        )
        answer.raise_for_status()
        caller = Caller(replica.url, answer.json()["access_token"])
        self.stack.callback(caller.close)
        return caller


def show(step: str, result: str) -> None:
    print(f"{step:<56} {result}", flush=True)


def job_result(caller: Caller, model: str, configuration: str, folder: str) -> str:
    job_id = caller.submit(model, configuration, folder)
    job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=180)
    LAST_JOB[caller.http.base_url.port] = job_id
    return str(job["status"]) + ("" if job["status"] == "SUCCEEDED" else f": {job['message']}")


def answer(response: httpx.Response, expected: bytes) -> str:
    if response.status_code == 200 and response.content == expected:
        return "200, its bytes"
    return said(response)


def said(response: httpx.Response) -> str:
    """`404 file 'x' ...`: the status and the error's message."""
    try:
        message = response.json()["errors"][0]["message"]
    except (ValueError, KeyError, IndexError):
        message = response.text
    return f"{response.status_code} {message[:70]}"


def attempt(action: Callable[[], Any]) -> str:
    try:
        answer = action()
    except httpx.HTTPStatusError as error:
        return f"fails: {said(error.response)}"
    return "works" if answer is None else str(answer)


def run(commit: str) -> None:
    old = previous_release(commit)
    with ExitStack() as stack:
        root = Path(tempfile.mkdtemp(prefix="jm-up-"))
        stack.callback(shutil.rmtree, root, True)
        url = stack.enter_context(own_postgres_database("jm_upgrade"))
        redis = PrivateRedis().start()
        stack.callback(redis.close)
        shared = {
            "JOBMANAGER_DATABASE_URL": url,
            "JOBMANAGER_DISPATCH": "celery",
            "JOBMANAGER_BROKER_URL": redis.url,
            "JOBMANAGER_BLOB_URL": str(root / "blobs"),
            "JOBMANAGER_PUBLIC_URL": "http://jobmanager.test",
            "JOBMANAGER_WARM_ENVIRONMENTS": "1",
        }
        drill = Drill(root, old, shared, stack)
        database = Database(url)
        stack.callback(database.dispose)
        print(f"previous release {commit}, this one {head_of_checkout()}; database {url}")

        drill.make_tenant()
        old_replica = drill.start("old", "serve", "old-replica")
        old_worker = drill.start("old", "worker", "old-worker")
        assert old_replica.healthy(), old_replica.last_error()
        before = database.schema_revision()
        caller = drill.caller(old_replica)
        folder, inputs = caller.folder("out"), caller.folder("in")
        model, configuration = caller.model(NOTE), caller.configuration()
        show(
            f"old replica + old worker, database at {before}: a job",
            job_result(caller, model, configuration, folder),
        )

        new_replica = drill.start("new", "serve", "new-replica")
        started = new_replica.healthy()
        after = database.schema_revision()
        show(
            "new replica started while the old one serves",
            "up" if started else f"did not start: {new_replica.last_error()}",
        )
        show(
            "  the database",
            f"migrated {before} -> {after} (this release's newest: {head_revision()})",
        )
        fresh = drill.caller(new_replica)
        show(
            "old replica reads the job and the folder",
            attempt(
                lambda: (caller.http.get(f"{DX}/directories/{folder}").raise_for_status(), None)[1]
            ),
        )
        show(
            "old replica uploads a file",
            attempt(lambda: (caller.upload(inputs, "old.txt", b"from the old replica"), None)[1]),
        )
        show(
            "new replica uploads a file",
            attempt(lambda: (fresh.upload(inputs, "new.txt", b"from the new replica"), None)[1]),
        )
        submitters = {"old replica": caller, "new replica": fresh}
        for replica, submitter in submitters.items():
            ran = job_result(submitter, model, configuration, folder)
            show(f"{replica} submits, old worker runs it", ran)

        old_worker.stop()
        new_worker = drill.start("new", "worker", "new-worker")
        for replica, submitter in submitters.items():
            ran = job_result(submitter, model, configuration, folder)
            show(f"{replica} submits, new worker runs it", ran)
        job = LAST_JOB[fresh.http.base_url.port]
        output = f"/api/jobmanager/v3/jobs/{job}/outputs/out.txt"
        saved = fresh.http.get(output).content
        listing = fresh.http.get(f"{DX}/directories/{folder}").json()["files"]
        (shown,) = [entry["id"] for entry in listing if entry["name"] == "out.txt"]
        deleted = caller.http.delete(f"{DX}/files/{shown}").status_code
        show(
            "old replica deletes out.txt, a new job's output",
            f"{deleted}; the job's out.txt then reads {answer(fresh.http.get(output), saved)}",
        )
        same = b"the same bytes in two files"
        kept = fresh.upload(inputs, "a.txt", same)
        doomed = fresh.upload(inputs, "b.txt", same)
        deleted = caller.http.delete(f"{DX}/files/{doomed}").status_code
        show(
            "old replica deletes b.txt; a.txt holds the same bytes",
            f"{deleted}; a.txt then reads {answer(fresh.http.get(f'{DX}/files/{kept}'), same)}",
        )

        old_replica.stop()
        again = drill.start("old", "serve", "old-replica-2")
        show(
            "old replica restarted on the migrated database",
            "up" if again.healthy(60) else f"refuses: {again.last_error()[:140]}",
        )
        worker_again = drill.start("old", "worker", "old-worker-2")
        code = worker_again.ended(60)
        show(
            "old worker restarted on the migrated database",
            "runs" if code is None else f"refuses (exit {code}): {worker_again.last_error()[:140]}",
        )
        new_worker.stop()


def head_of_checkout() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPOSITORY), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or "this checkout"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--previous", default="f23ceae", help="the previous release's commit")
    run(parser.parse_args().previous)


if __name__ == "__main__":
    main()
