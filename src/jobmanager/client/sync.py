"""`Client`: the blocking client (httpx.Client)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TypeVar

import httpx

from jobmanager.client.call import Call
from jobmanager.client.calls.auth import token as token_call
from jobmanager.client.errors import error_from_response
from jobmanager.client.events import Following, JobEvent
from jobmanager.client.session import (
    DEFAULT_TIMEOUT,
    ClientBase,
    check_wait,
    deadline_after,
    parsed,
    unavailable,
)
from jobmanager.client.types import Job, ListPage

T = TypeVar("T")


class Client(ClientBase[httpx.Client]):
    """A jobmanager server, called with a client id and secret (client credentials).

    The token is fetched on first use, renewed before it expires, and renewed once
    more when a call answers 401. Every method of `Endpoints` is available::

        with Client("http://127.0.0.1:8080", client_id, secret) as api:
            job = api.submit_job(model_id, config_id, input_id, output_id)
            final = api.wait_for_job(job.id)
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            url,
            client_id,
            client_secret,
            http or httpx.Client(base_url=url, timeout=timeout, trust_env=False),
        )
        self._lock = threading.Lock()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def token(self) -> str:
        """A valid bearer token (fetched or renewed when needed)."""
        with self._lock:
            return self._token.current() or self._token.store(
                self.execute(token_call(self.client_id, self._secret))
            )

    def execute(self, call: Call[T]) -> T:
        """Send one call: authenticate, retry once on 401, read or stream the answer."""
        try:
            response = self._send(call)
            if response.status_code == 401 and call.authenticated:
                response.close()
                self._token.clear()
                response = self._send(call)
            return self._read(call, response)
        except httpx.TransportError as error:
            raise unavailable(self.url, error) from None
        finally:
            if call.upload is not None:
                call.upload.done()

    def _send(self, call: Call[T]) -> httpx.Response:
        token = self.token() if call.authenticated else None
        return self._http.send(self._request(call, token), stream=True)

    def _read(self, call: Call[T], response: httpx.Response) -> T:
        try:
            if response.is_error:
                raise error_from_response(response, response.read())
            if call.sink is None:
                response.read()
                return parsed(call, response)
            call.sink.open()
            try:
                for chunk in response.iter_bytes():
                    call.sink.write(chunk)
            except BaseException:
                call.sink.abort()
                raise
            call.sink.commit()
            return parsed(call, response)
        finally:
            response.close()

    def iterate(self, page: Callable[[int], Call[ListPage[T]]]) -> Iterator[T]:
        """Every item of pages 0, 1, ... until the last."""
        number = 0
        while True:
            result = self.execute(page(number))
            yield from result.items
            if result.is_last:
                return
            number += 1

    def wait_for_job(
        self,
        job_id: str,
        *,
        interval: float = 1.0,
        timeout: float | None = None,
        on_update: Callable[[Job], None] | None = None,
        wake: threading.Event | None = None,
    ) -> Job:
        """Poll a job until it is final; `on_update` sees each poll's job. Raises
        `TimeoutError` after `timeout` seconds (None: wait as long as it takes).
        `wake`, set by whoever learns of a change first (the job's event stream), polls
        at once instead of at the end of the interval."""
        deadline = deadline_after(timeout)
        while True:
            job = self.get_job(job_id)
            if on_update is not None:
                on_update(job)
            if check_wait(job, deadline, timeout):
                return job
            if wake is None:
                time.sleep(interval)
            else:
                wake.wait(interval)
                wake.clear()

    def iter_job_events(
        self, job_id: str, *, last_event_id: int | None = None, follow: bool = True
    ) -> Iterator[JobEvent]:
        """A job's events, in order, from after `last_event_id` (from the first by
        default) until its `end` event; with `follow` False, only those stored now.

        A broken connection is resumed where it broke (`Last-Event-ID`), so every event
        comes once; `ServerUnavailable` after several failed attempts in a row.
        Leaving the loop early closes the connection."""
        following = Following(job_id, last_event_id, follow)
        while not following.done:
            try:
                yield from self._event_stream(following)
                time.sleep(following.pause)
            except httpx.TransportError as error:
                delay = following.failed()
                if delay is None:
                    raise unavailable(self.url, error) from None
                time.sleep(delay)

    def _event_stream(self, following: Following) -> Iterator[JobEvent]:
        call = following.call()
        response = self._send(call)
        try:
            if response.status_code == 401:
                response.close()
                self._token.clear()
                response = self._send(call)
            if response.is_error:
                raise error_from_response(response, response.read())
            for line in response.iter_lines():
                event = following.line(line)
                if event is not None:
                    yield event
                    if following.done:
                        return
            following.closed()
        finally:
            response.close()
