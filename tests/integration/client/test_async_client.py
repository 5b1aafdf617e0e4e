"""`jobmanager.client.AsyncClient` against a real server: the same calls, awaited."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
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
