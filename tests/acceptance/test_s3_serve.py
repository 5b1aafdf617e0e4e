"""A real `jobmanager serve` whose blobs live on a real S3 server (moto's `moto_server`
process): files uploaded, a job run on them, its outputs listed and downloaded, and all
of it still there after the service restarts. Nothing lands in the home's blob folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.acceptance.api import FINAL, Caller, note
from tests.acceptance.server import ServerProcess
from tests.s3 import MotoServer

DOUBLING = note(
    "%python\nimport os\n"
    "data = open(os.path.join(inputFolder, 'numbers.txt')).read().split()\n"
    "open(os.path.join(outputFolder, 'doubled.txt'), 'w')"
    ".write(' '.join(str(2 * int(n)) for n in data))"
)


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    return moto.new_bucket()


@pytest.fixture
def server(tmp_path: Path, moto: MotoServer, bucket: str) -> Iterator[ServerProcess]:
    settings = {**moto.settings_env(), "JOBMANAGER_BLOB_URL": f"s3://{bucket}/jobmanager"}
    process = ServerProcess(tmp_path / "home", extra_env=settings).start()
    yield process
    process.stop()


def test_a_job_reads_and_writes_its_files_on_s3_across_a_restart(
    server: ServerProcess,
    moto: MotoServer,
    bucket: str,
    caller_of: Callable[[ServerProcess], Caller],
) -> None:
    caller = caller_of(server)
    inputs, outputs = caller.folder("in"), caller.folder("out")
    caller.upload(inputs, "numbers.txt", b"1 2 3 21")
    job_id = caller.submit(
        caller.model(DOUBLING), caller.configuration(), outputs, inputFolderId=inputs
    )
    job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=120)
    assert job["status"] == "SUCCEEDED", job["message"]
    files = caller.files(outputs)
    assert files["doubled.txt"] == b"2 4 6 42"
    assert any(name.endswith(".zpln") for name in files)  # the executed note

    objects = moto.filesystem().find(f"{bucket}/jobmanager")
    # the input, the model's payload, the outputs (the executed note among them)
    assert len(objects) >= 2 + len(files), objects
    assert not any("/tmp/" in name for name in objects)
    local = server.home / "blobs"
    assert not local.exists() or not [p for p in local.rglob("*") if p.is_file()]

    server.stop()
    server.start()
    after = caller_of(server)
    assert after.files(outputs) == files
    assert after.files(inputs) == {"numbers.txt": b"1 2 3 21"}
    assert after.job(job_id)["status"] == "SUCCEEDED"
