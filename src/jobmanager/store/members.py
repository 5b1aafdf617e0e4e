"""The cluster's members: every API replica and worker says it is alive here, every few
seconds (`service/presence.py`). A replica records the id of the key it signs tokens with and the
public URL it names, so that `jobmanager doctor` sees replicas that disagree; the API's
`jobmanager_workers` gauge counts the workers seen within the heartbeat timeout
(`store/stats.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from jobmanager.store.db import Database
from jobmanager.store.query import conflict_insert
from jobmanager.store.tables import Member

FORGOTTEN_AFTER = timedelta(days=1)  # a row this old is a process long gone: deleted


@dataclass(frozen=True)
class MemberRecord:
    id: str
    kind: str  # "api" or "worker"
    host: str
    started_at: datetime
    key_id: str | None = None
    public_url: str | None = None


class MemberRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def announce(self, member: MemberRecord, now: datetime) -> None:
        """Say that `member` is alive at `now` (its row made or refreshed); rows of
        processes gone for a day are deleted on the way."""
        table = Member.__table__
        values = {
            "id": member.id,
            "kind": member.kind,
            "host": member.host,
            "key_id": member.key_id,
            "public_url": member.public_url,
            "started_at": member.started_at,
            "seen_at": now,
        }
        with self.db.transaction(essential=True) as session:
            statement = conflict_insert(session, table).values(**values)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.id],
                    set_={"seen_at": now, "key_id": member.key_id, "public_url": member.public_url},
                )
            )
            session.execute(delete(Member).where(Member.seen_at < now - FORGOTTEN_AFTER))

    def leave(self, member_id: str) -> None:
        """A process that stops says so: it is not counted until its row grows old."""
        with self.db.transaction(essential=True) as session:
            session.execute(delete(Member).where(Member.id == member_id))

    def alive(self, since: datetime) -> list[MemberRecord]:
        """The members seen at `since` or later, API replicas first, oldest first."""
        query = select(Member).where(Member.seen_at >= since).order_by(Member.kind, Member.id)
        with self.db.reading() as session:
            return [_record(row) for row in session.scalars(query)]


def _record(row: Member) -> MemberRecord:
    return MemberRecord(
        id=row.id,
        kind=row.kind,
        host=row.host,
        started_at=row.started_at,
        key_id=row.key_id,
        public_url=row.public_url,
    )
