"""What an operator's backup and the retention period do to the object store, through a
real `jobmanager serve` (docs/deploy.md, Backups):

- the retention purge deletes the bytes that only purged jobs held (a job's own outputs
  that a later job replaced in the folder) and keeps those a folder still shows — in a
  local folder and on a real S3 server (moto);
- a backup taken in the documented order — the database (pg_dump), then the objects —
  restores every file, job and output, and `deploy/check_restore.py` finds every blob
  the database names (and says which one is missing when it is not)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.acceptance.api import FINAL, JOBS, Caller, note
from tests.acceptance.server import ServerProcess, make_tenant
from tests.conftest import own_postgres_database
from tests.s3 import MotoServer

CHECK_RESTORE = Path(__file__).resolve().parents[2] / "deploy" / "check_restore.py"
# Each run writes bytes of its own to the same name.
FRESH_OUTPUT = note(
    "%python\nimport os, uuid\n"
    "open(os.path.join(outputFolder, 'out.txt'), 'w').write('run-' + uuid.uuid4().hex)"
)
QUIET = {"JOBMANAGER_DISK_RESERVE_MIB": "0", "JOBMANAGER_WARM_ENVIRONMENTS": "0"}
StoredBytes = Callable[[], list[bytes]]
BlobStore = tuple[dict[str, str], StoredBytes]


@pytest.fixture(params=["folder", "s3"])
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """The service's blob settings, and a reader of every object the store holds."""
    if request.param == "folder":
        folder = tmp_path / "blobs"
        return {"JOBMANAGER_BLOB_URL": str(folder)}, lambda: [
            path.read_bytes() for path in folder.rglob("*") if path.is_file()
        ]
    moto: MotoServer = request.getfixturevalue("moto")
    bucket = moto.new_bucket()
    s3 = moto.filesystem()

    def stored() -> list[bytes]:
        s3.invalidate_cache()
        return [s3.cat_file(key) for key in s3.find(f"{bucket}/jobmanager")]

    return {**moto.settings_env(), "JOBMANAGER_BLOB_URL": f"s3://{bucket}/jobmanager"}, stored


def run_job(caller: Caller, model: str, configuration: str, inputs: str, outputs: str) -> str:
    job_id = caller.submit(model, configuration, outputs, inputFolderId=inputs)
    job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=120)
    assert job["status"] == "SUCCEEDED", job["message"]
    return job_id


def test_the_retention_purge_deletes_the_bytes_only_purged_jobs_held(
    tmp_path: Path,
    blob_store: BlobStore,
    caller_of: Callable[[ServerProcess], Caller],
) -> None:
    settings, stored = blob_store
    env = {**settings, **QUIET, "JOBMANAGER_REAPER_INTERVAL_SECONDS": "0.5"}
    server = ServerProcess(tmp_path / "home", extra_env=env).start()
    try:
        caller = caller_of(server)
        inputs, outputs = caller.folder("in"), caller.folder("out")
        caller.upload(inputs, "numbers.txt", b"1 2 3")
        model, configuration = caller.model(FRESH_OUTPUT), caller.configuration()
        first = run_job(caller, model, configuration, inputs, outputs)
        second = run_job(caller, model, configuration, inputs, outputs)
        only_first = caller.http.get(f"{JOBS}/{first}/outputs/out.txt").content
        shown = caller.files(outputs)["out.txt"]
        assert only_first.startswith(b"run-") and only_first != shown
        assert only_first in stored() and shown in stored()

        # Both jobs are older than a retention of one second at the next start.
        server.stop()
        server.extra_env["JOBMANAGER_RETENTION_DAYS"] = str(1 / 86400)
        time.sleep(1.5)
        server.start()
        caller = caller_of(server)
        deadline = time.monotonic() + 60
        while any(caller.http.get(f"{JOBS}/{job}").status_code != 404 for job in (first, second)):
            assert time.monotonic() < deadline, "the jobs were never purged"
            time.sleep(0.2)

        left = stored()
        assert only_first not in left
        kept = {**caller.files(outputs), **caller.files(inputs)}
        assert kept["out.txt"] == shown
        # Exactly what the folders show and the model's payload: nothing else is left.
        assert sorted(left) == sorted([*kept.values(), FRESH_OUTPUT])
    finally:
        server.stop()


def libpq(url: str) -> str:
    """The SQLAlchemy URL as the PostgreSQL tools take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def check_restore(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_RESTORE)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    with own_postgres_database("jm_live") as live, own_postgres_database("jm_restored") as back:
        yield live, back


def test_a_backup_of_the_database_then_the_objects_restores_every_file_and_output(
    tmp_path: Path,
    two_databases: tuple[str, str],
    caller_of: Callable[[ServerProcess], Caller],
) -> None:
    live_url, restored_url = two_databases
    live = {"JOBMANAGER_DATABASE_URL": live_url, "JOBMANAGER_BLOB_URL": str(tmp_path / "blobs")}
    make_tenant(live_url, tmp_path / "live")
    server = ServerProcess(tmp_path / "live", extra_env={**live, **QUIET}).start()
    try:
        caller = caller_of(server)
        inputs, outputs = caller.folder("in"), caller.folder("out")
        numbers = caller.upload(inputs, "numbers.txt", b"1 2 3")
        job = run_job(caller, caller.model(FRESH_OUTPUT), caller.configuration(), inputs, outputs)
        saved = caller.http.get(f"{JOBS}/{job}/outputs/out.txt").content

        # The backup: the database first, then the objects.
        dump = tmp_path / "jobmanager.dump"
        dumping = ["pg_dump", "--format=custom", f"--file={dump}", libpq(live_url)]
        subprocess.run(dumping, check=True)
        shutil.copytree(tmp_path / "blobs", tmp_path / "backup-blobs")

        # Life goes on after it: the input is deleted (and its blob with it), a file comes.
        assert caller.http.delete(f"/api/dataexchange/v3/files/{numbers}").status_code == 204
        caller.upload(inputs, "later.txt", b"after the backup")
    finally:
        server.stop()

    # The restore: the dump into an empty database, the objects into an empty store.
    subprocess.run(
        ["pg_restore", "--no-owner", f"--dbname={libpq(restored_url)}", str(dump)], check=True
    )
    shutil.copytree(tmp_path / "backup-blobs", tmp_path / "restored-blobs")
    restored = {
        "JOBMANAGER_DATABASE_URL": restored_url,
        "JOBMANAGER_BLOB_URL": str(tmp_path / "restored-blobs"),
    }
    checked = check_restore(restored)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "blobs the database names are in the store" in checked.stdout
    print(checked.stdout)  # docs/deploy.md shows it

    home = tmp_path / "restored"
    home.mkdir()
    shutil.copy(tmp_path / "live" / "dev-credentials.json", home)
    server = ServerProcess(home, extra_env={**restored, **QUIET}).start()
    try:
        caller = caller_of(server)
        assert caller.files(inputs) == {"numbers.txt": b"1 2 3"}
        assert caller.job(job)["status"] == "SUCCEEDED"
        assert caller.http.get(f"{JOBS}/{job}/outputs/out.txt").content == saved
        assert caller.files(outputs)["out.txt"] == saved
    finally:
        server.stop()

    # A store that lost a blob: the check names it.
    lost = next(path for path in (tmp_path / "restored-blobs").rglob("*") if path.is_file())
    lost.unlink()
    checked = check_restore(restored)
    assert checked.returncode == 1, checked.stdout
    assert f"MISSING  {lost.name}" in checked.stdout
