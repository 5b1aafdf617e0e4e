"""Every sign-in — `/oauth/token`, the technical token manager, `POST /session`, the
console's sign-in form — checks its client id and secret here, within limits.

A secret's check is a deliberately slow hash (scrypt, tens of milliseconds of a core), so:
- failed attempts are counted per address and per (client id, address), in the database,
  so across replicas (`store/sign_ins.py`; the rule in `domain/sign_ins.py`); a caller
  over a limit is answered 429 with `Retry-After` before any hash is computed;
- at most `sign_in_concurrent_checks` hashes run at once in this process: wrong secrets
  sent in parallel, from however many addresses, queue here instead of taking every core.
  The limits are read again once an attempt's turn comes, so attempts that queued
  together cannot all slip under a limit.
"""

from __future__ import annotations

import threading

from fastapi import Request

from jobmanager.domain.errors import TooManyAttempts, Unauthenticated
from jobmanager.domain.sign_ins import FailureLimits, wait_seconds
from jobmanager.settings import Settings
from jobmanager.store.store import Store
from jobmanager.store.types import utcnow

# How long an attempt waits for its turn to be checked before it is told to come back.
TURN_SECONDS = 10.0


class SignInGuard:
    """The sign-ins of one process (see the module)."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.limits = FailureLimits(
            per_client=settings.sign_in_failures_per_minute,
            per_address=settings.sign_in_address_failures_per_minute,
        )
        self._checks = threading.BoundedSemaphore(settings.sign_in_concurrent_checks)

    def tenant_of(self, client_id: str, secret: str, address: str) -> str:
        """The tenant whose client id and secret these are; else `Unauthenticated`, or
        `TooManyAttempts` when this caller failed too often (checked first)."""
        limits = self.limits.keys(client_id, address)
        self._refuse_if_over(limits)
        if not self._checks.acquire(timeout=TURN_SECONDS):
            raise TooManyAttempts("too many sign-ins at once: try again in a moment", 1)
        try:
            self._refuse_if_over(limits)
            tenant = self.store.tenants.authenticate(client_id, secret)
        finally:
            self._checks.release()
        if tenant is None:
            self.store.sign_ins.record_failure(list(limits), utcnow())
            raise Unauthenticated("unknown client id or wrong secret")
        return tenant

    def _refuse_if_over(self, limits: dict[str, int]) -> None:
        wait = wait_seconds(self.store.sign_ins.counts(list(limits)), limits, utcnow())
        if wait is not None:
            raise TooManyAttempts(
                f"too many failed sign-ins from this address: try again in {wait} s", wait
            )


def caller_address(request: Request) -> str:
    """The address a request came from (a trusted proxy's X-Forwarded-For already applied
    by the server, `JOBMANAGER_TRUSTED_PROXIES`)."""
    return request.client.host if request.client is not None else "unknown"
