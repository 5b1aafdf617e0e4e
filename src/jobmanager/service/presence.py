"""This process's presence in the cluster (`store/members.py`): an API replica or a
worker says it is alive every few seconds, and that it left when it stops. What reads it:
the API's `jobmanager_workers` gauge and `jobmanager doctor` (workers up, replicas that
agree on the signing key and the public URL)."""

from __future__ import annotations

import logging
import os
import socket

from jobmanager.common.loops import Every
from jobmanager.store.members import MemberRecord, MemberRepository
from jobmanager.store.outages import database_away
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.presence")

PRESENCE_SECONDS = 5.0  # at most; three beats within the heartbeat timeout at least


def replica(key_id: str, public_url: str | None) -> MemberRecord:
    """This process as an API replica: its signing key's id and the public URL it names."""
    host = socket.gethostname()
    return MemberRecord(
        id=f"{host}:{os.getpid()}:api",
        kind="api",
        host=host,
        started_at=utcnow(),
        key_id=key_id,
        public_url=public_url,
    )


def worker(worker_id: str) -> MemberRecord:
    """A worker of this process, by its id (`host:pid:tag`)."""
    return MemberRecord(id=worker_id, kind="worker", host=socket.gethostname(), started_at=utcnow())


class Presence:
    """Announces `member` from `start()` until `stop()`, every PRESENCE_SECONDS or a third
    of `timeout` (the heartbeat timeout after which readers take it for gone)."""

    def __init__(self, members: MemberRepository, member: MemberRecord, timeout: float) -> None:
        self.members = members
        self.member = member
        self._loop = Every(
            "presence", min(PRESENCE_SECONDS, timeout / 3), self._announce, away=database_away
        )

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        try:
            self.members.leave(self.member.id)
        except Exception as error:  # the row ages out: readers stop counting it anyway
            log.warning("could not record that %s left: %s", self.member.id, error)

    def _announce(self) -> None:
        self.members.announce(self.member, utcnow())
