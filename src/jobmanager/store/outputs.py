"""The outputs each job saved (an extension): what a job's page, `jobs outputs` and
`GET /jobs/{id}/outputs` list.

A job's output folder shows the latest file of each name, whichever job wrote it; a
job's outputs are the files *it* wrote there (under `attempt-N/` for a retried
attempt's), recorded with their size, SHA-256 and media type by the transaction that
wrote the folder's file (`DataExchangeRepository.put_file` with `output_of`). Each output
counts one reference to its content (`store/contents.py`), so its bytes stay when a later
job overwrites the name, and go when the last job that refers to them is purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from jobmanager.domain.errors import NotFound
from jobmanager.domain.names import NameRuleError, check_name
from jobmanager.store.blobs import BlobStore
from jobmanager.store.contents import NewContent, reference_in, release_in
from jobmanager.store.db import Database
from jobmanager.store.tables import JobOutput
from jobmanager.store.types import utcnow

_BATCH = 500  # jobs per statement


@dataclass(frozen=True)
class OutputOf:
    """The job, and its attempt, whose output a write saves."""

    job_id: str
    attempt: int


@dataclass(frozen=True)
class OutputRecord:
    job_id: str
    path: str
    attempt: int
    size: int
    sha256: str
    media_type: str
    created_at: datetime
    blob_key: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def record_output_in(
    session: Session,
    tenant_id: str,
    owner: OutputOf,
    path: str,
    content: NewContent,
    media_type: str,
) -> list[str]:
    """Record `path` as an output of the job, holding `content`, in the caller's
    transaction (a second save of the path replaces the first); the blob keys it no
    longer refers to, for `release_in`."""
    key = reference_in(session, tenant_id, content)
    row = session.get(JobOutput, (owner.job_id, path), with_for_update=True)
    released = []
    if row is None:
        row = JobOutput(job_id=owner.job_id, path=path, tenant_id=tenant_id)
        session.add(row)
    else:
        released.append(row.blob_key)
    row.attempt, row.blob_key, row.size = owner.attempt, key, content.size
    row.sha256, row.media_type, row.created_at = content.sha256, media_type, utcnow()
    session.flush()
    return released


def forget_outputs_in(session: Session, job_ids: list[str]) -> list[str]:
    """Delete the outputs of these jobs (about to be purged) in the caller's transaction;
    the blobs nothing refers to any more, to delete after the commit."""
    keys: list[str] = []
    for start in range(0, len(job_ids), _BATCH):
        batch = JobOutput.job_id.in_(job_ids[start : start + _BATCH])
        keys += session.scalars(select(JobOutput.blob_key).where(batch))
        session.execute(delete(JobOutput).where(batch))
    return release_in(session, keys)


class OutputRepository:
    def __init__(self, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    def list_outputs(
        self, tenant_id: str, job_id: str, *, offset: int, limit: int
    ) -> tuple[list[OutputRecord], int]:
        """One page of the job's outputs by path, and how many it has."""
        where = (JobOutput.tenant_id == tenant_id, JobOutput.job_id == job_id)
        with self.db.reading() as session:
            total = session.scalar(select(func.count()).select_from(JobOutput).where(*where))
            rows = session.scalars(
                select(JobOutput).where(*where).order_by(JobOutput.path).offset(offset).limit(limit)
            )
            return [_record(row) for row in rows], int(total or 0)

    def find(self, tenant_id: str, job_id: str, path: str) -> OutputRecord | None:
        """The job's output of that path; None for a path no output can have."""
        if not _possible_path(path):
            return None
        with self.db.reading() as session:
            row = session.scalar(
                select(JobOutput).where(
                    JobOutput.tenant_id == tenant_id,
                    JobOutput.job_id == job_id,
                    JobOutput.path == path,
                )
            )
            return _record(row) if row is not None else None

    def open(self, tenant_id: str, job_id: str, path: str) -> tuple[OutputRecord, BinaryIO]:
        """The output and an open handle on the bytes the job saved (the caller closes
        it); NotFound for a path the job did not save, or a job purged meanwhile."""
        record = self.find(tenant_id, job_id, path)
        if record is None:
            raise NotFound("output", path)
        try:
            return record, self.blobs.open(record.blob_key)
        except FileNotFoundError:
            raise NotFound("output", path) from None


def _possible_path(path: str) -> bool:
    """Whether `path` follows the rules of Data Exchange names (no NUL, which PostgreSQL
    would refuse in a query, no empty or too long part)."""
    try:
        return all(check_name(part) == part for part in path.split("/"))
    except NameRuleError:
        return False


def _record(row: JobOutput) -> OutputRecord:
    return OutputRecord(
        job_id=row.job_id,
        path=row.path,
        attempt=row.attempt,
        size=row.size,
        sha256=row.sha256,
        media_type=row.media_type,
        created_at=row.created_at,
        blob_key=row.blob_key,
    )
