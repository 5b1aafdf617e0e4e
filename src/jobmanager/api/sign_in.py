"""Every sign-in — `/oauth/token`, the technical token manager, `POST /session`, the
console's sign-in form — checks its client id and secret here, within limits.

A secret's check is a deliberately slow hash (scrypt, tens of milliseconds of a core), so:
- failed attempts are counted per address and per (client id, address), in the database,
  so across replicas (`store/sign_ins.py`; the rule in `domain/sign_ins.py`); a caller
  over a limit is answered 429 with `Retry-After` before any hash is computed;
- at most `sign_in_concurrent_checks` hashes run at once in this process, and one per
  address: wrong secrets sent in parallel, from however many addresses, queue here
  instead of taking every core, and those of one address take one turn at a time, so a
  caller elsewhere finds a turn free. The limits are read again once an attempt's turn
  comes, and a failure is counted before the turn ends, so attempts that queued
  together cannot slip under a limit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from fastapi import Request

from jobmanager.domain.errors import TooManyAttempts, Unauthenticated
from jobmanager.domain.sign_ins import FailureLimits, wait_seconds
from jobmanager.startup.settings import Settings
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

# How long an attempt waits for its turn to be checked before it is told to come back.
TURN_SECONDS = 10.0
BUSY = "too many sign-ins at once: try again in a moment"
REMEMBERED_REFUSALS = 10_000


class SignInGuard:
    """The sign-ins of one process (see the module)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.limits = FailureLimits(
            per_client=settings.sign_in_failures_per_minute,
            per_address=settings.sign_in_address_failures_per_minute,
        )
        self._checks = threading.BoundedSemaphore(settings.sign_in_concurrent_checks)
        self._addresses = AddressTurns()
        self._refused: dict[tuple[str, ...], datetime] = {}  # counters -> refused until
        self._refused_lock = threading.Lock()

    def tenant_of(self, client_id: str, secret: str, address: str) -> str:
        """The tenant whose client id and secret these are; else `Unauthenticated`, or
        `TooManyAttempts` when this caller failed too often (checked first)."""
        limits = self.limits.keys(client_id, address)
        self._refuse_if_over(limits)
        with self._addresses.turn(address), self._turn():
            self._refuse_if_over(limits)
            tenant = self.store.tenants.authenticate(client_id, secret)
            if tenant is None:  # counted before the next in line reads the counters
                self.store.sign_ins.record_failure(list(limits), utcnow())
        if tenant is None:
            raise Unauthenticated("unknown client id or wrong secret")
        return tenant

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if not self._checks.acquire(timeout=TURN_SECONDS):
            raise TooManyAttempts(BUSY, 1)
        try:
            yield
        finally:
            self._checks.release()

    def _refuse_if_over(self, limits: dict[str, int]) -> None:
        """Refuse an attempt over a limit. A refusal is remembered until it ends: a flood
        of attempts over the limit costs no query each."""
        now, counters = utcnow(), tuple(sorted(limits))
        until = self._refused.get(counters)
        if until is None or until <= now:
            wait = wait_seconds(self.store.sign_ins.counts(list(limits)), limits, now)
            if wait is None:
                return
            until = now + timedelta(seconds=wait)
            self._remember(counters, until, now)
        wait = max(1, math.ceil((until - now).total_seconds()))
        raise TooManyAttempts(
            f"too many failed sign-ins from this address: try again in {wait} s", wait
        )

    def _remember(self, counters: tuple[str, ...], until: datetime, now: datetime) -> None:
        with self._refused_lock:
            if len(self._refused) >= REMEMBERED_REFUSALS:
                self._refused = {k: end for k, end in self._refused.items() if end > now}
            self._refused[counters] = until


class AddressTurns:
    """One check at a time per address: a lock per address with an attempt waiting or
    under way, forgotten when none is."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def turn(self, address: str) -> Iterator[None]:
        with self._mutex:
            lock, users = self._locks.get(address, (threading.Lock(), 0))
            self._locks[address] = (lock, users + 1)
        try:
            if not lock.acquire(timeout=TURN_SECONDS):
                raise TooManyAttempts(BUSY, 1)
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._mutex:
                lock, users = self._locks[address]
                if users == 1:
                    del self._locks[address]
                else:
                    self._locks[address] = (lock, users - 1)


def caller_address(request: Request) -> str:
    """The address a request came from (a trusted proxy's X-Forwarded-For already applied
    by the server, `JOBMANAGER_TRUSTED_PROXIES`)."""
    return request.client.host if request.client is not None else "unknown"
