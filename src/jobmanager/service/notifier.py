"""The notifier: sends webhook deliveries from the outbox, never in a job's way.

Every service process with notifications on runs one `Notifier` loop: each round it
records the deliveries of new job events (`store.deliveries.collect`), claims the due
ones (a conditional UPDATE, so exactly one replica sends each) and hands them to a
small pool of sender threads, at most one delivery per webhook at a time. A round
runs when a job's status change commits (in any process: `wakeups.py`), when a send
ends, when the next delivery comes due (a retry, a lapsed claim, a job running longer
than a webhook asks), and every `poll_seconds` at the latest. A send has a
short timeout; a receiver that fails or hangs costs one sender thread for that long
and a retry later, never the deliveries of other webhooks, and nothing of any job:
jobs only write their events, which they do anyway. Deliveries connect only to the
addresses the service's rule permits (`domain/destinations.py`, `vetted_http.py`): a
refused one is an attempt that failed, with the reason as its error.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx

from jobmanager import __version__
from jobmanager.common.loops import Every
from jobmanager.common.wakeups import Topic
from jobmanager.domain.destinations import Destinations
from jobmanager.domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from jobmanager.service.vetted_http import Resolver, system_resolver, vetted_client
from jobmanager.store.deliveries import Attempt, Outgoing
from jobmanager.store.outages import database_away
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

log = logging.getLogger("jobmanager.notifier")

POLL_SECONDS = 10.0
SEND_TIMEOUT_SECONDS = 5.0
SENDERS = 8
MAX_ERROR_CHARS = 500
UNREADABLE_SECRET = "not sent: this replica has no key that opens the webhook's secret"


class Notifier:
    """The delivery loop of one replica, and its sender threads."""

    def __init__(
        self,
        store: Store,
        destinations: Destinations,
        *,
        senders: int = SENDERS,
        resolve: Resolver = system_resolver,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.store = store
        self.senders = senders
        self._pool = ThreadPoolExecutor(senders, thread_name_prefix="webhook")
        self._http = vetted_client(destinations, SEND_TIMEOUT_SECONDS, resolve)
        self._sending: set[str] = set()  # the webhooks this replica is sending to
        self._lock = threading.Lock()
        self.poll_seconds = poll_seconds
        self._loop = Every("notifier", poll_seconds, self._round, away=database_away)
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        self._unsubscribe = self.store.db.wakeups.subscribe(Topic.STATUSES, self._loop.wake)
        self._loop.start()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._loop.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def run_once(self, now: datetime | None = None) -> int:
        """Collect and send what is due, waiting for the sends; how many were sent (tests)."""
        now = now or utcnow()
        self.store.deliveries.collect(now)
        claimed = self.store.deliveries.claim_due(now, self.senders * 4)
        for outgoing in claimed:
            self.send(outgoing)
        return len(claimed)

    def _round(self) -> float:
        """Collect and hand out what is due; the seconds until the next round."""
        now = utcnow()
        self.store.deliveries.collect(now)
        with self._lock:
            busy = frozenset(self._sending)
        free = self.senders - len(busy)
        if free <= 0:
            return self.poll_seconds  # a send that ends wakes the loop
        for outgoing in self._one_per_webhook(self.store.deliveries.claim_due(now, free, busy)):
            self._pool.submit(self._send_and_release, outgoing)
        with self._lock:
            busy = frozenset(self._sending)
        due = self.store.deliveries.next_due(now, busy)
        if due is None:
            return self.poll_seconds
        return min(max((due - utcnow()).total_seconds(), 0.0), self.poll_seconds)

    def _one_per_webhook(self, claimed: list[Outgoing]) -> list[Outgoing]:
        """The first claimed delivery of each webhook, marked as being sent; the others
        go back to waiting (their claim lapses after the lease, or they are sent first
        by another replica)."""
        first: list[Outgoing] = []
        later: list[Outgoing] = []
        with self._lock:
            for outgoing in claimed:
                if outgoing.webhook_id in self._sending:
                    later.append(outgoing)
                else:
                    self._sending.add(outgoing.webhook_id)
                    first.append(outgoing)
        for outgoing in later:
            self.store.deliveries.release(outgoing)
        return first

    def _send_and_release(self, outgoing: Outgoing) -> None:
        try:
            self.send(outgoing)
        except Exception:
            log.exception("webhook delivery %s could not be recorded", outgoing.id)
        finally:
            with self._lock:
                self._sending.discard(outgoing.webhook_id)
            self._loop.wake()  # the webhook's next delivery, a retry may be due

    def send(self, outgoing: Outgoing) -> None:
        """One attempt: POST the signed body, record the outcome (and when to retry)."""
        started, at = time.monotonic(), utcnow()
        if outgoing.secret is None:
            attempt = Attempt(at, 0.0, error=UNREADABLE_SECRET)
        else:
            attempt = self._post(outgoing, outgoing.secret, started, at)
        status = self.store.deliveries.record_attempt(outgoing, attempt)
        log.info(
            "webhook delivery %s (%s) attempt %d: %s, now %s",
            outgoing.id,
            outgoing.event.value,
            outgoing.attempts + 1,
            attempt.status_code or attempt.error,
            status.value if status else "claimed by another replica",
        )

    def _post(self, outgoing: Outgoing, secret: str, started: float, at: datetime) -> Attempt:
        body = json.dumps(outgoing.payload, separators=(",", ":")).encode()
        sent_at = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"jobmanager/{__version__}",
            TIMESTAMP_HEADER: sent_at,
            SIGNATURE_HEADER: signature(secret, sent_at, body),
            EVENT_HEADER: outgoing.event.value,
            DELIVERY_HEADER: outgoing.id,
        }
        try:
            answer = self._http.post(outgoing.url, content=body, headers=headers)
            return Attempt(at, time.monotonic() - started, status_code=answer.status_code)
        except (httpx.HTTPError, UnicodeError) as error:  # UnicodeError: a host's name
            reason = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            return Attempt(at, time.monotonic() - started, error=reason)
