"""The record in the home that the CLI finds a service by (`cli/local_service.py`), written
by every `jobmanager serve` on the embedded default, and what `serve --local` adds:
stopping itself when idle.

Idle means: no API request for `local_idle_minutes` (health probes and metrics scrapes do
not count; an open event stream is a request in flight) and no job left to finish in the
database. The service then stops as on SIGTERM.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from jobmanager.cli.local_service import LocalService, remove_record, write_record
from jobmanager.common.home import dev_credentials_file
from jobmanager.store.store import Store

log = logging.getLogger("jobmanager.local")
QUIET_PATHS = ("/health", "/metrics")  # probes: they say nothing of a user's work


class Activity:
    """An ASGI wrapper that knows when the last API request ended and how many are open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = time.monotonic()
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(QUIET_PATHS):
            await self.app(scope, receive, send)
            return
        self.open += 1  # one event loop: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last = time.monotonic()

    def idle_seconds(self) -> float:
        return 0.0 if self.open else time.monotonic() - self.last


class LocalRole:
    """Records the service in its home once it listens; with `activity` (the local
    service), stops it after an idle spell."""

    def __init__(
        self,
        home: Path,
        url: str,
        store: Store,
        activity: Activity | None,
        idle_minutes: float,
    ) -> None:
        self.home = home
        self.url = url
        self.store = store
        self.activity = activity
        self.idle_seconds = idle_minutes * 60
        self.pid = os.getpid()
        self._done = threading.Event()

    def start(self, started: Callable[[], bool], stop_service: Callable[[], None]) -> None:
        """Watch in the background: `started` says the server listens, `stop_service` stops it."""
        args = (started, stop_service)
        threading.Thread(target=self._watch, args=args, name="local-idle", daemon=True).start()

    def close(self) -> None:
        self._done.set()
        remove_record(self.home, self.pid)

    def _watch(self, started: Callable[[], bool], stop_service: Callable[[], None]) -> None:
        while not started():
            if self._done.wait(0.02):
                return
        if self._done.is_set():  # stopped the moment it started
            return
        credentials = str(dev_credentials_file(self.home))
        write_record(self.home, LocalService(self.pid, self.url, credentials))
        if self.activity is None:
            return  # a service run by hand: recorded, never stopped for idleness
        log.info("local service of %s at %s, pid %d", self.home, self.url, self.pid)
        check = min(5.0, self.idle_seconds / 4)
        while not self._done.wait(check):
            if self._is_idle():
                log.info("idle for %.0f s with no job to finish: stopping", self.idle_seconds)
                stop_service()
                return

    def _is_idle(self) -> bool:
        if self.activity is None or self.activity.idle_seconds() < self.idle_seconds:
            return False
        try:
            return self.store.stats.unfinished_jobs() == 0
        except Exception:  # a database hiccup: try again next round
            log.exception("could not count the jobs left to finish")
            return False
