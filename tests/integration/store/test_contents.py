"""Files and job outputs share their blobs by content, counted in the database: on SQLite
and PostgreSQL, with blobs in a folder and on a real S3 server (moto's process).

The same bytes are stored once; a job keeps the bytes it saved after a later job
overwrote the name in the folder, until the last job that refers to them is purged;
nothing something refers to is ever deleted — not under two saves of the same bytes at
once, nor a purge racing a save."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from jobmanager.domain.statuses import JobStatus
from jobmanager.startup.services import Services
from jobmanager.store.blob_factory import open_blob_store
from jobmanager.store.blobs import LocalBlobStore
from jobmanager.store.dataexchange import PUBLIC_ROOT_ID
from jobmanager.store.db import Database, alembic_config
from jobmanager.store.outputs import OutputOf
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow
from tests.conftest import own_postgres_database
from tests.integration.jobs.seed import Seed, seed
from tests.integration.store.contents import assert_consistent, counted, stored_keys
from tests.s3 import MotoServer


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, services: Services) -> Store:
    """The service's store, its blobs in its home folder or in a bucket of a real S3."""
    if request.param == "folder":
        return services.store
    moto: MotoServer = request.getfixturevalue("moto")
    blobs = open_blob_store(f"s3://{moto.new_bucket()}/blobs", moto.access())
    return Store(services.db, blobs)


@pytest.fixture
def acme(services: Services) -> Seed:
    return seed(services)


def new_job(store: Store, s: Seed, output_folder: str | None = None) -> str:
    spec = s.job(output_folder_id=output_folder or s.output_id)
    return store.jobs.create(s.tenant_id, "acme", spec).id


def end(store: Store, job_id: str) -> None:
    assert store.jobs.transition(job_id, [JobStatus.SUBMITTED], JobStatus.STOPPED)


def save(store: Store, s: Seed, job_id: str, path: str, data: bytes, attempt: int = 1) -> None:
    """What the worker does with one file of a job's `output/`."""
    store.dataexchange.put_file(
        s.tenant_id, s.output_id, path, [data], output_of=OutputOf(job_id, attempt)
    )


def saved(store: Store, s: Seed, job_id: str, path: str) -> bytes:
    _, handle = store.outputs.open(s.tenant_id, job_id, path)
    with handle:
        return handle.read()


def in_folder(store: Store, s: Seed, path: str) -> bytes:
    files = dict(store.dataexchange.list_tree(s.tenant_id, s.output_id))
    _, handle = store.dataexchange.open_file(s.tenant_id, files[path].id)
    with handle:
        return handle.read()


def purge_all(store: Store) -> int:
    return store.execution.purge_final(utcnow() + timedelta(seconds=1))


def test_a_job_keeps_what_it_saved_after_a_rerun_overwrote_the_folder(
    store: Store, acme: Seed
) -> None:
    first, second = new_job(store, acme), new_job(store, acme)
    save(store, acme, first, "result.csv", b"a,b\n1,2\n")
    save(store, acme, first, "plots/chart.png", b"\x89PNG first")
    save(store, acme, second, "result.csv", b"a,b\n3,4\n")
    save(store, acme, second, "plots/chart.png", b"\x89PNG first")  # the same bytes again

    assert in_folder(store, acme, "result.csv") == b"a,b\n3,4\n"
    assert saved(store, acme, first, "result.csv") == b"a,b\n1,2\n"
    assert saved(store, acme, second, "result.csv") == b"a,b\n3,4\n"
    listed, total = store.outputs.list_outputs(acme.tenant_id, first, offset=0, limit=10)
    assert total == 2
    assert [(o.path, o.size, o.media_type, o.attempt) for o in listed] == [
        ("plots/chart.png", 10, "image/png", 1),
        ("result.csv", 8, "text/csv", 1),
    ]
    assert listed[1].sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    # Three different contents: the two CSVs and the image, which is stored once.
    assert len(stored_keys(store.blobs)) == 3
    assert counted(store.db)[listed[0].blob_key] == 3  # the folder's file, two outputs
    assert_consistent(store.db, store.blobs)


def test_a_kept_version_goes_with_the_last_job_that_refers_to_it(store: Store, acme: Seed) -> None:
    early, twin, later = new_job(store, acme), new_job(store, acme), new_job(store, acme)
    save(store, acme, early, "model.bin", b"version one")
    save(store, acme, twin, "model.bin", b"version one")
    save(store, acme, later, "model.bin", b"version two")
    end(store, early)
    time.sleep(0.01)
    cutoff = utcnow()
    time.sleep(0.01)
    end(store, twin)
    kept = store.outputs.find(acme.tenant_id, twin, "model.bin")
    assert kept is not None

    assert store.execution.purge_final(cutoff) == 1  # the early job only
    assert saved(store, acme, twin, "model.bin") == b"version one"
    assert kept.blob_key in stored_keys(store.blobs)
    assert purge_all(store) == 1  # the twin: nothing refers to version one any more
    assert kept.blob_key not in stored_keys(store.blobs)
    assert in_folder(store, acme, "model.bin") == b"version two"
    assert saved(store, acme, later, "model.bin") == b"version two"
    assert_consistent(store.db, store.blobs)


def test_purging_never_deletes_the_blob_of_the_folders_current_file(
    store: Store, acme: Seed
) -> None:
    jobs = [new_job(store, acme) for _ in range(3)]
    for job_id in jobs:
        save(store, acme, job_id, "same.txt", b"identical")
        end(store, job_id)
    assert len(stored_keys(store.blobs)) == 1
    assert purge_all(store) == 3
    assert in_folder(store, acme, "same.txt") == b"identical"
    assert_consistent(store.db, store.blobs)
    (key,) = stored_keys(store.blobs)
    files = dict(store.dataexchange.list_tree(acme.tenant_id, acme.output_id))
    store.dataexchange.delete_file(acme.tenant_id, files["same.txt"].id)
    assert stored_keys(store.blobs) == set()
    assert key not in counted(store.db)


def test_folder_files_share_contents_with_each_other_and_with_outputs(
    store: Store, acme: Seed
) -> None:
    tid = acme.tenant_id
    folder = store.dataexchange.create_directory(tid, PUBLIC_ROOT_ID, "copies").id
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        store.dataexchange.put_file(tid, folder, name, [b"shared ", b"bytes"])
    job = new_job(store, acme)
    save(store, acme, job, "out.txt", b"shared bytes")
    assert len(stored_keys(store.blobs)) == 1
    assert set(counted(store.db).values()) == {5}  # three files, the output and its file

    store.dataexchange.delete_directory(tid, folder, recursive=True)
    assert set(counted(store.db).values()) == {2}
    files = dict(store.dataexchange.list_tree(tid, acme.output_id))
    store.dataexchange.delete_file(tid, files["out.txt"].id)
    assert saved(store, acme, job, "out.txt") == b"shared bytes"  # the job's, still
    end(store, job)
    purge_all(store)
    assert stored_keys(store.blobs) == set()
    assert counted(store.db) == {}


def test_a_saved_path_saved_again_keeps_the_last_bytes(store: Store, acme: Seed) -> None:
    """The worker saves again after a lost connection: one output, its newest bytes."""
    job = new_job(store, acme)
    save(store, acme, job, "x.txt", b"first try")
    save(store, acme, job, "x.txt", b"second try")
    listed, total = store.outputs.list_outputs(acme.tenant_id, job, offset=0, limit=10)
    assert total == 1 and listed[0].size == len(b"second try")
    assert saved(store, acme, job, "x.txt") == b"second try"
    assert_consistent(store.db, store.blobs)


def test_outputs_belong_to_their_tenant(store: Store, acme: Seed, services: Services) -> None:
    job = new_job(store, acme)
    save(store, acme, job, "x.txt", b"mine")
    other = seed(services, tenant="other")
    listed, total = store.outputs.list_outputs(other.tenant_id, job, offset=0, limit=10)
    assert (listed, total) == ([], 0)
    assert store.outputs.find(other.tenant_id, job, "x.txt") is None
    # Another tenant's same bytes are its own content.
    theirs = new_job(store, other)
    save(store, other, theirs, "x.txt", b"mine")
    assert len(stored_keys(store.blobs)) == 2
    assert_consistent(store.db, store.blobs)


def run_together(*actions: Callable[[], Any]) -> list[Any]:
    """Run the actions at once (released together by a barrier); their results."""
    barrier = threading.Barrier(len(actions))

    def released(action: Callable[[], Any]) -> Any:
        barrier.wait()
        return action()

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(released, actions))


def test_jobs_saving_the_same_bytes_at_once_store_them_once(services: Services, acme: Seed) -> None:
    store = services.store
    jobs = [new_job(store, acme) for _ in range(6)]
    data = b"the same 64 KiB " * 4096
    run_together(*(partial(save, store, acme, job, "model.bin", data) for job in jobs))
    assert len(stored_keys(store.blobs)) == 1
    assert list(counted(store.db).values()) == [len(jobs) + 1]
    for job in jobs:
        assert saved(store, acme, job, "model.bin") == data
    assert_consistent(store.db, store.blobs)


def test_a_purge_racing_a_save_of_the_same_bytes_loses_nothing(
    services: Services, acme: Seed
) -> None:
    """The purged job holds the only reference to the bytes another job saves at that
    very moment: the save either counts on the content before the purge releases it (it
    stays) or finds it gone and stores its own blob."""
    store = services.store
    for round in range(12):
        data = f"round {round} ".encode() * 1000
        leaving, arriving = new_job(store, acme), new_job(store, acme)
        save(store, acme, leaving, f"old-{round}.bin", data)
        files = dict(store.dataexchange.list_tree(acme.tenant_id, acme.output_id))
        store.dataexchange.delete_file(acme.tenant_id, files[f"old-{round}.bin"].id)
        end(store, leaving)
        purged, _ = run_together(
            partial(purge_all, store),
            partial(save, store, acme, arriving, f"new-{round}.bin", data),
        )
        assert purged == 1
        assert saved(store, acme, arriving, f"new-{round}.bin") == data
        assert in_folder(store, acme, f"new-{round}.bin") == data
        assert_consistent(store.db, store.blobs)


def test_a_failed_save_leaves_no_blob(store: Store, acme: Seed) -> None:
    job = new_job(store, acme)
    save(store, acme, job, "taken", b"a file")
    with pytest.raises(Exception, match="is a file already"):
        save(store, acme, job, "taken/inner.txt", b"never stored")
    assert_consistent(store.db, store.blobs)


@pytest.fixture
def old_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of either backend, for migrating step by step."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    with own_postgres_database("jm_contents") as url:
        yield url


def test_files_stored_before_contents_were_counted_are_counted_once(
    old_database: str, tmp_path: Path
) -> None:
    db = Database(old_database)
    config = alembic_config(old_database)
    try:
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
            connection.execute(
                sa.text("INSERT INTO tenants (id, name, created_at) VALUES ('t', 'old', :now)"),
                {"now": utcnow()},
            )
            for name, key in (("a.txt", "aa11"), ("b.txt", "bb22")):
                connection.execute(
                    sa.text(
                        "INSERT INTO data_entries (id, tenant_id, parent_id, name, is_directory,"
                        " type, size_in_bytes, blob_key, modified_date, modified_by) VALUES"
                        " (:id, 't', :root, :name, :no, 'text/plain', 3, :key, :now, '')"
                    ),
                    {"id": name, "root": PUBLIC_ROOT_ID, "name": name, "no": False, "key": key,
                     "now": utcnow()},
                )  # fmt: skip
        db.migrate()
        blobs = LocalBlobStore(tmp_path / "blobs")
        for key in ("aa11", "bb22"):
            blobs.write(key, [b"old"])
        assert counted(db) == {"aa11": 1, "bb22": 1}
        store = Store(db, blobs)
        new = store.dataexchange.put_file("t", PUBLIC_ROOT_ID, "c.txt", [b"old"]).blob_key
        assert stored_keys(blobs) == {"aa11", "bb22", new}  # an unknown checksum: not shared
        store.dataexchange.delete_file("t", "a.txt")
        assert stored_keys(blobs) == {"bb22", new}
        assert_consistent(db, blobs)
    finally:
        db.dispose()
