"""A full disk is a clear error, never a wedge (issue 24 §4), end to end: a real
`jobmanager serve` whose home is a 200 MiB tmpfs the test mounts (its log is outside it).

- An upload that meets the full disk answers 507 naming the disk and leaves no partial
  file; while the disk is full, new uploads, folders and jobs answer 507 and
  `/health/ready` says not ready; deleting files and folders, stopping a job and reading
  all work.
- A job whose writes fill the disk ends FAILED within seconds saying so, the outputs that
  fit kept.
- Killed on a full disk, the service starts again, says the disk is full, refuses new work
  until there is room and removes what the killed run left (its environment, a half
  upload).
- The log says once when the disk fills and once when it has room again; no traceback.
- On PostgreSQL, a full tablespace (a tmpfs too) answers 507 naming the database server's
  disk, and deletes go on.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.acceptance.api import DX, JOBS, Caller, note
from tests.acceptance.server import ServerProcess, environment_folders, make_tenant
from tests.conftest import POSTGRES_ADMIN_URL, own_postgres_database, require_service
from tests.tmpfs import MIB, fill, small_disk

HOME_MIB = 200
UPLOAD_MIB = 40
ENV = {"JOBMANAGER_JOB_SLOTS": "2", "JOBMANAGER_WARM_ENVIRONMENTS": "1"}
FINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
SLEEPER = note("import time\nfor _ in range(6000):\n    time.sleep(0.1)")
# Writes a small output, then more than the disk holds: the write fails with ENOSPC.
FILLER = note(
    'import os\nopen(os.path.join(outputFolder, "small.txt"), "w").write("kept")',
    'with open(os.path.join(outputFolder, "big.bin"), "wb") as f:\n'
    "    for _ in range(400):\n"
    '        f.write(b"x" * 1024 * 1024)',
)
# The same, but it swallows the error and writes on: only the watchdog ends it.
STUBBORN = note(
    'import os\nopen(os.path.join(outputFolder, "small.txt"), "w").write("kept")',
    "import time\n"
    'f = open(os.path.join(outputFolder, "big.bin"), "wb", buffering=0)\n'
    "while True:\n"
    "    try:\n"
    '        f.write(b"x" * 1024 * 1024)\n'
    "    except OSError:\n"
    "        time.sleep(0.05)",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The home on a small disk, and the user's cache folder too (environments live there),
    as on a machine whose one disk holds both."""
    with small_disk(tmp_path / "home", HOME_MIB) as mounted:
        monkeypatch.setenv("XDG_CACHE_HOME", str(mounted / "cache"))
        yield mounted


def upload(caller: Caller, folder: str, name: str, size: int) -> httpx.Response:
    metadata = {"name": name, "parentId": folder}
    return caller.http.post(
        f"{DX}/files",
        files={
            "file": (name, os.urandom(size), "application/octet-stream"),
            "metadata": (None, json.dumps(metadata), "application/json"),
        },
    )


def refused(answer: httpx.Response) -> str:
    """The message of a 507 in the error format."""
    assert answer.status_code == 507, answer.text
    error = answer.json()["errors"][0]
    assert error["code"] == "jobmanager.insufficientStorage"
    assert "nothing of this request was kept" in error["message"]
    return str(error["message"])


def blob_files(home: Path) -> list[Path]:
    return [p for p in (home / "blobs").rglob("*") if p.is_file() and p.parent.name != "tmp"]


def partial_blobs(home: Path) -> list[Path]:
    return list((home / "blobs" / "tmp").iterdir())


def wait_final(caller: Caller, job: str, seconds: float) -> dict[str, Any]:
    return caller.wait(job, lambda j: j["status"] in FINAL, seconds)


def wait_for(check: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.1)


def lines(server: ServerProcess, pattern: str) -> list[str]:
    return [line for line in server.log().splitlines() if re.search(pattern, line)]


def said_alternately(server: ServerProcess) -> list[str]:
    """The disk's lines, in order; each run of the service says 'full' and 'room again' by
    turns, never twice in a row (a line per attempt)."""
    said = lines(server, r"jobmanager\.space: .* (is full|has room again)|starting jobmanager")
    runs: list[list[str]] = [[]]
    for line in said:
        if "starting jobmanager" in line:
            runs.append([])
        else:
            runs[-1].append("full" if " is full: " in line else "room")
    for run in runs:
        assert all(a != b for a, b in itertools.pairwise(run)), run
        assert not run or run[0] == "full", run
    return said


def test_a_full_home_is_a_clear_error_never_a_wedge(home: Path) -> None:
    server = ServerProcess(home, extra_env=ENV)
    try:
        server.start(60)
        caller = Caller(server.url, server.token())
        try:
            full_disk_answers_and_deletes(server, caller, home)
            jobs_that_fill_the_disk_end_saying_so(caller, home)
            sleeper = caller.submit(
                caller.model(SLEEPER), caller.configuration(), caller.folder("o")
            )
            caller.wait(sleeper, lambda j: j["status"] == "RUNNING")
        finally:
            caller.close()
        killed_on_a_full_disk_it_starts_again(server, home, sleeper)
        said = said_alternately(server)
        assert len(said) >= 6, said
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def full_disk_answers_and_deletes(server: ServerProcess, caller: Caller, home: Path) -> None:
    sleeper = caller.submit(caller.model(SLEEPER), caller.configuration(), caller.folder("out"))
    caller.wait(sleeper, lambda j: j["status"] == "RUNNING")
    folder = caller.folder("data")
    blobs_before = len(blob_files(home))

    stored = []
    for n in range(HOME_MIB // UPLOAD_MIB + 1):
        answer = upload(caller, folder, f"part-{n}", UPLOAD_MIB * MIB)
        if answer.status_code != 201:
            break
        stored.append(answer.json()["id"])
    message = refused(answer)  # the upload met the full disk while it was written
    # the home, the blobs and the environments (XDG_CACHE_HOME) share the one tmpfs
    assert message.startswith(
        "No space left on the disk of the service's database, files and job environments"
    )
    assert len(stored) >= 3
    assert not partial_blobs(home)
    assert len(blob_files(home)) == blobs_before + len(stored)

    filler = home / "filler"
    fill(filler)  # something else takes what is left
    assert "MiB free" in refused(upload(caller, folder, "small", 1024))
    refused(caller.http.post(f"{DX}/directories", json={"name": "new", "parentId": folder}))
    refused(
        caller.http.post(
            JOBS,
            json={
                "modelId": caller.job(sleeper)["modelId"],
                "configurationId": caller.job(sleeper)["configurationId"],
                "inputFolderId": "_PUBLIC_ROOT_ID",
                "outputFolderId": folder,
            },
        )
    )
    ready = caller.http.get("/health/ready")
    assert ready.status_code == 503 and " is full" in ready.json()["errors"][0]["message"]
    assert len(caller.files(folder)) == len(stored)  # reading works

    stop = caller.http.post(f"{JOBS}/{sleeper}/stop")
    assert stop.status_code == 200 and stop.json()["status"] == "STOPPING"
    stopped = wait_final(caller, sleeper, 30)
    assert stopped["message"].startswith("Stopped on request.")
    assert caller.http.delete(f"{DX}/files/{stored[0]}").status_code == 204
    wait_for(lambda: caller.http.get("/health/ready").status_code == 200)  # room, the reserve back
    fill(home / "filler-2")  # full again: the folder's delete too commits
    assert caller.http.delete(f"{DX}/directories/{folder}?recursive=true").status_code == 204
    assert len(blob_files(home)) == blobs_before  # the folder's blobs went with it

    filler.unlink()
    (home / "filler-2").unlink()
    wait_for(lambda: caller.http.get("/health/ready").status_code == 200)
    created = caller.http.post(
        f"{DX}/directories", json={"name": "again", "parentId": "_PUBLIC_ROOT_ID"}
    )
    assert created.status_code == 201


def jobs_that_fill_the_disk_end_saying_so(caller: Caller, home: Path) -> None:
    configuration = caller.configuration()
    for n, payload in enumerate((FILLER, STUBBORN)):
        output = caller.folder(f"out-{n}")
        job = caller.submit(caller.model(payload), configuration, output)
        caller.wait(job, lambda j: j["status"] == "RUNNING", 60)
        began = time.monotonic()
        ended = wait_final(caller, job, 30)
        assert time.monotonic() - began < 20, ended
        assert ended["status"] == "FAILED", ended
        # Its paragraph's OSError, or the watchdog's, or the executed note's save.
        assert "No space left on " in ended["message"], ended["message"]
        assert "Failed to save outputs [big.bin (no room on the disk)]" in ended["message"]
        kept = caller.files(output)
        assert kept.pop("small.txt") == b"kept"
        assert [name.endswith(".zpln") for name in kept] == [True]  # the executed note
        assert not partial_blobs(home)
    wait_for(lambda: caller.http.get("/health/ready").status_code == 200)


def killed_on_a_full_disk_it_starts_again(server: ServerProcess, home: Path, sleeper: str) -> None:
    environments = environment_folders(home)
    assert environments  # the sleeper's, and a warm one
    half_upload = threading.Thread(target=upload_forever, args=(server,), daemon=True)
    half_upload.start()
    wait_for(lambda: any(p.stat().st_size > MIB for p in partial_blobs(home)))
    server.kill()  # a crash: the environments and the half upload stay behind
    half_upload.join(10)
    fill(home / "filler")  # and something else fills the disk meanwhile

    server.start(60)
    caller = Caller(server.url, server.token())
    try:
        lost = wait_final(caller, sleeper, 30)
        assert lost["status"] == "FAILED" and "Environment lost" in lost["message"]
        assert not environments & environment_folders(home)
        assert not partial_blobs(home)
        assert lines(server, "removed 1 partial blobs left by a previous run")
        restarted = server.log().rsplit("starting jobmanager", 1)[1]
        assert re.search(r"jobmanager\.space: .* is full: ", restarted), restarted
        assert caller.http.get("/health/ready").status_code == 503
        job = {"modelId": lost["modelId"], "configurationId": lost["configurationId"]}
        job |= {"inputFolderId": "_PUBLIC_ROOT_ID", "outputFolderId": lost["outputFolderId"]}
        refused(caller.http.post(JOBS, json=job))

        (home / "filler").unlink()
        wait_for(lambda: caller.http.get("/health/ready").status_code == 200)
        quick = caller.submit(
            caller.model(note("print(1)")), caller.configuration(), caller.folder("q")
        )
        assert wait_final(caller, quick, 120)["status"] == "SUCCEEDED"
    finally:
        caller.close()


def upload_forever(server: ServerProcess) -> None:
    """An upload whose body never ends: the server dies while it writes the blob."""

    def body() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n'
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        while True:
            yield b"x" * MIB
            time.sleep(0.05)

    headers = {
        "Authorization": f"Bearer {server.token()}",
        "Content-Type": "multipart/form-data; boundary=b",
    }
    with contextlib.suppress(httpx.HTTPError):  # the server is killed
        httpx.post(f"{server.url}{DX}/files", content=body(), headers=headers, timeout=60)


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def full_tablespace() -> Iterator[str]:
    """The URL of a database whose tablespace is a 48 MiB tmpfs owned by PostgreSQL's
    user (under /tmp: the server must reach it), all dropped after."""
    ids = [
        subprocess.run(["id", flag, "postgres"], capture_output=True, text=True)
        for flag in ("-u", "-g")
    ]
    if any(found.returncode for found in ids):
        require_service(
            "PostgreSQL (its user)", "apt-get install postgresql", OSError(ids[0].stderr)
        )
    uid, gid = (found.stdout.strip() for found in ids)
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    mount_point = Path(tempfile.mkdtemp(prefix="jobmanager-tablespace-"))
    name = f"jm_full_{mount_point.name.rsplit('-', 1)[1].lower()}"
    try:
        with small_disk(mount_point, 48, f"uid={uid},gid={gid},mode=0700") as folder:
            try:
                with admin.connect() as connection:
                    connection.execute(sa.text(f"CREATE TABLESPACE {name} LOCATION '{folder}'"))
            except sa.exc.OperationalError as error:
                require_service("PostgreSQL", "pg_ctlcluster ... start", error)
            try:
                with own_postgres_database(name) as url, admin.connect() as connection:
                    database = url.rsplit("/", 1)[1]
                    connection.execute(
                        sa.text(f'ALTER DATABASE "{database}" SET TABLESPACE {name}')
                    )
                    yield url
            finally:
                with admin.connect() as connection:
                    connection.execute(sa.text(f"DROP TABLESPACE IF EXISTS {name}"))
    finally:
        admin.dispose()
        mount_point.rmdir()


def test_a_full_postgresql_disk_answers_507_and_deletes_and_stops_go_on(
    tmp_path: Path, full_tablespace: str
) -> None:
    home = tmp_path / "home"
    make_tenant(full_tablespace, home)
    server = ServerProcess(home, extra_env={**ENV, "JOBMANAGER_DATABASE_URL": full_tablespace})
    engine = sa.create_engine(full_tablespace)
    try:
        server.start(60)
        caller = Caller(server.url, server.token())
        folder = caller.folder("data")
        files = [caller.upload(folder, f"f{n}", b"x") for n in range(3)]
        model, configuration = caller.model(SLEEPER), caller.configuration()
        # A job done before the disk fills, as on any service that has run one: the
        # outputs' tables hold a page with room for the stopped job's executed note.
        earlier = caller.submit(caller.model(note("print(1)")), configuration, caller.folder("e"))
        assert wait_final(caller, earlier, 60)["status"] == "SUCCEEDED"
        sleeper = caller.submit(model, configuration, caller.folder("out"))
        caller.wait(sleeper, lambda j: j["status"] == "RUNNING", 60)
        fill_tablespace(engine)

        # The schedules' table has no page yet: its first row needs the disk to grow.
        schedule = {"name": "s", "modelId": model, "configurationId": configuration}
        schedule |= {"inputFolderId": folder, "outputFolderId": folder}
        schedule |= {"scheduleString": "0 0 * * *"}
        message = refused(caller.http.post(f"{JOBS.rsplit('/', 1)[0]}/schedules", json=schedule))
        assert message.startswith("No space left on the database server's disk")
        assert caller.http.delete(f"{DX}/files/{files[0]}").status_code == 204
        assert sorted(caller.files(folder)) == ["f1", "f2"]
        assert caller.http.post(f"{JOBS}/{sleeper}/stop").status_code == 200
        stopped = wait_final(caller, sleeper, 30)
        assert stopped["status"] == "STOPPED", stopped["message"]

        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE filler"))
        created = caller.http.post(f"{JOBS.rsplit('/', 1)[0]}/schedules", json=schedule)
        assert created.status_code == 201, created.text
        caller.close()
        assert len(lines(server, "the database server's disk is full")) == 1
        assert "Traceback" not in server.log()
    finally:
        engine.dispose()
        server.stop()


def fill_tablespace(engine: sa.Engine) -> None:
    """Rows in a table of the service's database until its tablespace has no room left:
    many at once, then fewer (a failed extension leaves some room)."""
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE filler (v text)"))
    rows = "INSERT INTO filler SELECT repeat(md5(random()::text), 60) FROM generate_series(1, :n)"
    full = pytest.raises(sa.exc.OperationalError, match="No space left on device")
    with full, engine.begin() as connection:
        connection.execute(sa.text(rows), {"n": 100_000})
    for batch in (100, 10, 1):
        with contextlib.suppress(sa.exc.OperationalError):
            for _ in range(10_000):
                with engine.begin() as connection:
                    connection.execute(sa.text(rows), {"n": batch})
