"""Readiness names what does not answer: a stopped database, a blob folder gone."""

from __future__ import annotations

from pathlib import Path

from jobmanager.store.blobs import LocalBlobStore
from jobmanager.store.db import Database
from jobmanager.store.readiness import unready_parts
from jobmanager.store.store import Store

STOPPED_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"


def test_all_parts_answer(database_url: str, tmp_path: Path) -> None:
    db = Database(database_url)
    try:
        store = Store(db, LocalBlobStore(tmp_path / "blobs"))
        assert unready_parts(store) == []
        assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]  # no probe left
    finally:
        db.dispose()


def test_a_stopped_database_and_a_missing_blob_folder(tmp_path: Path) -> None:
    db = Database(STOPPED_DATABASE)
    try:
        blobs = LocalBlobStore(tmp_path / "blobs")
        (tmp_path / "blobs").rename(tmp_path / "elsewhere")
        assert unready_parts(Store(db, blobs)) == [
            "the database did not answer",
            "the blob store did not answer",
        ]
    finally:
        db.dispose()
