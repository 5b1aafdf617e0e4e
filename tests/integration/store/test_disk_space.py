"""A disk that really fills up (a small tmpfs the test mounts): new work is refused naming
the disk, said once in the log; deletes still commit on SQLite thanks to the reserve; a
blob that meets the full disk leaves nothing; what a dead writer left is removed."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmanager.domain.errors import DiskFull
from jobmanager.store.blobs import LocalBlobStore
from jobmanager.store.dataexchange import PUBLIC_ROOT_ID
from jobmanager.store.db import Database
from jobmanager.store.space import MIB, RESERVE_NAME, DiskSpace, full_storage
from jobmanager.store.store import Store
from tests.tmpfs import fill, free_bytes, small_disk


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 24) as mounted:
        yield mounted


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jobmanager.space"]


def test_a_full_disk_refuses_new_work_says_so_once_and_has_room_again(
    disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    space = DiskSpace.watching({"environments": disk, "database": disk / "db"}, 4 * MIB)
    assert len(space.disks) == 1  # one filesystem, one disk, one reserve
    assert space.room_for("database")
    reserve = disk / RESERVE_NAME
    assert reserve.stat().st_blocks * 512 >= 4 * MIB  # taken, and allocated for real
    filler = disk / "filler"
    caplog.set_level(logging.INFO, logger="jobmanager.space")
    fill(filler)

    for _ in range(3):
        assert not space.room_for("environments")
    with pytest.raises(DiskFull) as refused:
        space.require_room("database")
    assert "the disk of the service's job environments and database" in refused.value.message
    assert "MiB free" in refused.value.message
    full_lines = said(caplog)
    assert len(full_lines) == 1 and " is full: " in full_lines[0] and str(disk) in full_lines[0]

    space.make_room("database")  # a delete or a stop is about to write
    assert not reserve.exists() and free_bytes(disk) >= 4 * MIB
    assert not space.room_for("database")  # the reserve's room is not for new work
    assert len(said(caplog)) == 1

    filler.unlink()
    assert space.room_for("database")
    assert reserve.exists()  # taken back
    room_lines = said(caplog)[1:]
    assert len(room_lines) == 1 and "has room again" in room_lines[0]


@pytest.mark.parametrize("reserve_mib", [4, 0], ids=["with-reserve", "without"])
def test_a_delete_commits_on_a_full_disk_thanks_to_the_reserve(
    disk: Path, reserve_mib: int
) -> None:
    space = DiskSpace.watching({"database": disk, "blobs": disk / "blobs"}, reserve_mib * MIB)
    db = Database(f"sqlite:///{disk / 'jobmanager.db'}", space=space)
    try:
        db.migrate()
        store = Store(db, LocalBlobStore(disk / "blobs", space))
        tenant = store.tenants.create("t").id
        folder = store.dataexchange.create_directory(tenant, PUBLIC_ROOT_ID, "f").id
        files = [
            store.dataexchange.put_file(tenant, folder, f"{n}.bin", [os.urandom(MIB)]).id
            for n in range(3)
        ]
        db.dispose()  # the last connection closed: SQLite drops its journal (as at a restart)
        fill(disk / "filler")

        with pytest.raises(DiskFull):
            store.dataexchange.create_directory(tenant, PUBLIC_ROOT_ID, "new")
        with pytest.raises(DiskFull):
            store.dataexchange.put_file(tenant, folder, "new.bin", [b"x"])
        if not reserve_mib:
            with pytest.raises(Exception) as failed:
                store.dataexchange.delete_file(tenant, files[0])
            assert full_storage(failed.value) == "SQLite"
            return
        store.dataexchange.delete_file(tenant, files[0])
        store.dataexchange.delete_directory(tenant, folder, recursive=True)
        assert store.dataexchange.list_tree(tenant, PUBLIC_ROOT_ID) == []
        assert not [p for p in (disk / "blobs").rglob("*") if p.is_file()]  # their blobs went
    finally:
        db.dispose()


def test_a_blob_that_meets_a_full_disk_leaves_nothing(disk: Path) -> None:
    space = DiskSpace.watching({"blobs": disk / "blobs"}, 0)
    blobs = LocalBlobStore(disk / "blobs", space)  # room at first: the write meets the full disk
    chunk = b"x" * MIB
    with pytest.raises(DiskFull) as failed:
        blobs.write(blobs.new_key(), (chunk for _ in range(64)))
    assert "No space left on the disk of the service's files (" in failed.value.message
    assert isinstance(failed.value.__cause__, OSError)
    assert failed.value.__cause__.errno == errno.ENOSPC
    assert not [p for p in (disk / "blobs").rglob("*") if p.is_file()]
    assert free_bytes(disk) > 20 * MIB


def test_partial_blobs_a_dead_writer_left_are_removed(disk: Path) -> None:
    blobs = LocalBlobStore(disk / "blobs")
    left = disk / "blobs" / "tmp" / f"{blobs.new_key()}.dead"
    left.write_bytes(b"half an upload")  # no process holds it any more
    writing = blobs.writer(key := blobs.new_key())
    writing.write(b"being written")
    assert blobs.remove_leftovers() == 1
    assert not left.exists()
    assert writing.commit() == len(b"being written")
    assert b"".join(blobs.read_chunks(key)) == b"being written"
