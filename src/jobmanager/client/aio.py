"""`AsyncClient`: the asyncio client (httpx.AsyncClient); same methods, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
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


class AsyncClient(ClientBase[httpx.AsyncClient]):
    """The asyncio twin of `Client`::

    async with AsyncClient(url, client_id, secret) as api:
        async for job in api.iter_jobs({"status": "FAILED"}):
            print(job.id, job.message)
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            url,
            client_id,
            client_secret,
            http or httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False),
        )
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def token(self) -> str:
        """A valid bearer token (fetched or renewed when needed)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            current = self._token.current()
            if current is not None:
                return current
            return self._token.store(await self.execute(token_call(self.client_id, self._secret)))

    async def execute(self, call: Call[T]) -> T:
        """Send one call: authenticate, retry once on 401, read or stream the answer."""
        try:
            response = await self._send(call)
            if response.status_code == 401 and call.authenticated:
                await response.aclose()
                self._token.clear()
                response = await self._send(call)
            return await self._read(call, response)
        except httpx.TransportError as error:
            raise unavailable(self.url, error) from None
        finally:
            if call.upload is not None:
                call.upload.done()

    async def _send(self, call: Call[T]) -> httpx.Response:
        token = await self.token() if call.authenticated else None
        return await self._http.send(self._request(call, token), stream=True)

    async def _read(self, call: Call[T], response: httpx.Response) -> T:
        try:
            if response.is_error:
                raise error_from_response(response, await response.aread())
            if call.sink is None:
                await response.aread()
                return parsed(call, response)
            call.sink.open()
            try:
                async for chunk in response.aiter_bytes():
                    call.sink.write(chunk)
            except BaseException:
                call.sink.abort()
                raise
            call.sink.commit()
            return parsed(call, response)
        finally:
            await response.aclose()

    async def iterate(self, page: Callable[[int], Call[ListPage[T]]]) -> AsyncIterator[T]:
        """Every item of pages 0, 1, ... until the last."""
        number = 0
        while True:
            result = await self.execute(page(number))
            for item in result.items:
                yield item
            if result.is_last:
                return
            number += 1

    async def wait_for_job(
        self,
        job_id: str,
        *,
        interval: float = 1.0,
        timeout: float | None = None,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll a job until it is final (see `Client.wait_for_job`)."""
        deadline = deadline_after(timeout)
        while True:
            job = await self.get_job(job_id)
            if on_update is not None:
                on_update(job)
            if check_wait(job, deadline, timeout):
                return job
            await asyncio.sleep(interval)

    async def iter_job_events(
        self, job_id: str, *, last_event_id: int | None = None, follow: bool = True
    ) -> AsyncGenerator[JobEvent, None]:
        """A job's events until its `end` event, resumed across broken connections
        (see `Client.iter_job_events`). Leaving early: close it (`contextlib.aclosing`)."""
        following = Following(job_id, last_event_id, follow)
        while not following.done:
            try:
                async for event in self._event_stream(following):
                    yield event
                await asyncio.sleep(following.pause)
            except httpx.TransportError as error:
                delay = following.failed()
                if delay is None:
                    raise unavailable(self.url, error) from None
                await asyncio.sleep(delay)

    async def _event_stream(self, following: Following) -> AsyncGenerator[JobEvent, None]:
        call = following.call()
        response = await self._send(call)
        try:
            if response.status_code == 401:
                await response.aclose()
                self._token.clear()
                response = await self._send(call)
            if response.is_error:
                raise error_from_response(response, await response.aread())
            async for line in response.aiter_lines():
                event = following.line(line)
                if event is not None:
                    yield event
                    if following.done:
                        return
            following.closed()
        finally:
            await response.aclose()
