"""`jobmanager.client.AsyncClient` against a real server: the same calls, awaited."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobmanager.client import (
    PUBLIC_ROOT_ID,
    AsyncClient,
    AuthError,
    NotFoundError,
    ServerUnavailable,
)
from tests.acceptance.server import ServerProcess, free_port
from tests.integration.client.conftest import zeppelin_note


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coroutine)


def connect(server: ServerProcess) -> AsyncClient:
    credentials = server.dev_credentials()
    return AsyncClient(server.url, credentials["clientId"], credentials["clientSecret"])


def test_upload_list_download_and_job(
    server: ServerProcess, notebook_file: Path, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with connect(server) as api:
            model, config, inputs, outputs = await asyncio.gather(
                api.create_model("async-model", notebook_file),
                api.create_configuration("async-config"),
                api.create_directory("async-in", PUBLIC_ROOT_ID),
                api.create_directory("async-out", PUBLIC_ROOT_ID),
            )
            await api.upload_file(inputs.id, io.BytesIO(b"5"), name="numbers.txt")
            assert model.id in [m.id async for m in api.iter_models()]
            await api.download_version(model.id, tmp_path / "copy.zpln")
            assert (tmp_path / "copy.zpln").read_bytes() == notebook_file.read_bytes()
            job = await api.submit_job(
                model.id, config.id, inputs.id, outputs.id, parameters={"factor": "3"}
            )
            final = await api.wait_for_job(job.id, interval=0.2, timeout=120)
            assert final.status == "SUCCEEDED", final.message
            files = [entry async for entry in api.iter_directory(outputs.id)]
            result = next(entry for entry in files if entry.name == "result.txt")
            buffer = io.BytesIO()
            await api.download_file(result.id, buffer)
            assert buffer.getvalue() == b"15"
            saved = [output.path async for output in api.iter_job_outputs(job.id)]
            assert "result.txt" in saved
            mine = io.BytesIO()
            assert await api.download_job_output(job.id, "result.txt", mine) == 2
            assert mine.getvalue() == b"15"
            with pytest.raises(NotFoundError):
                await api.get_job("unknown-job")

    run(scenario())


def test_errors(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient(server.url, "nobody", "wrong") as api:
            with pytest.raises(AuthError):
                await api.list_jobs()
        async with AsyncClient(f"http://127.0.0.1:{free_port()}", "id", "secret") as api:
            with pytest.raises(ServerUnavailable):
                await api.list_jobs()

    run(scenario())


def test_concurrent_first_calls_fetch_one_token(server: ServerProcess) -> None:
    paths: list[str] = []

    async def record(request: httpx.Request) -> None:
        paths.append(request.url.path)

    async def scenario() -> None:
        credentials = server.dev_credentials()
        http = httpx.AsyncClient(base_url=server.url, event_hooks={"request": [record]})
        async with AsyncClient(
            server.url, credentials["clientId"], credentials["clientSecret"], http=http
        ) as api:
            await asyncio.gather(*(api.list_jobs() for _ in range(5)))

    run(scenario())
    assert paths.count("/oauth/token") == 1
    assert paths.count("/api/jobmanager/v3/jobs") == 5


def test_a_jobs_events_until_its_end(server: ServerProcess) -> None:
    note = zeppelin_note(
        "%python\nprint('one')\nprint('two')", "%python\nimport sys\nprint('oops', file=sys.stderr)"
    )

    async def scenario() -> None:
        async with connect(server) as api:
            model = await api.create_model(
                "events-model", io.BytesIO(note.encode()), filename="e.zpln"
            )
            config = await api.create_configuration("events-config")
            output = await api.create_directory("events-out", PUBLIC_ROOT_ID)
            job = await api.submit_job(model.id, config.id, PUBLIC_ROOT_ID, output.id)
            async with aclosing(api.iter_job_events(job.id)) as events:
                seen = [event async for event in events]
            assert seen[-1].is_end and seen[-1].data["status"] == "SUCCEEDED"
            assert "".join(e.text for e in seen if e.stream == "stdout") == "one\ntwo\n"
            assert "".join(e.text for e in seen if e.stream == "stderr") == "oops\n"
            middle = seen[len(seen) // 2].id
            async with aclosing(api.iter_job_events(job.id, last_event_id=middle)) as events:
                rest = [event async for event in events]
            assert rest == seen[len(seen) // 2 + 1 :]
            with pytest.raises(NotFoundError):
                async with aclosing(api.iter_job_events("unknown-job")) as events:
                    await anext(events)

    run(scenario())
