"""Webhooks against a real `jobmanager serve` and real receivers, each a process of its
own: real jobs' events are delivered signed, a receiver that fails is retried, one
that hangs slows no job; the Python client manages them.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobmanager.client import Client
from jobmanager.service.notifier import SEND_TIMEOUT_SECONDS
from tests.acceptance.api import note
from tests.acceptance.cli_runner import module_server
from tests.acceptance.server import ServerProcess
from tests.webhook_receiver import ReceiverProcess

server = module_server(JOBMANAGER_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")  # local receivers
SECRET = "a-secret-only-the-receiver-knows"


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Client]:
    credentials = server.dev_credentials()
    with Client(server.url, credentials["clientId"], credentials["clientSecret"]) as client:
        yield client


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[list[ReceiverProcess]]:
    started: list[ReceiverProcess] = []
    yield started
    for receiver in started:
        receiver.stop()


def signed(request: dict[str, Any]) -> bool:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    message = headers["x-jobmanager-timestamp"].encode() + b"." + request["body"].encode()
    expected = "sha256=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-jobmanager-signature"])


def delivered(requests: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [r for r in requests if r["answered"] == 204 and json.loads(r["body"])["event"] == event]


def instant(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_real_jobs_are_delivered_signed_retried_and_never_slowed(
    api: Client, tmp_path: Path, receivers: list[ReceiverProcess]
) -> None:
    flaky = ReceiverProcess(tmp_path / "flaky", fail_first=1).start()
    hanging = ReceiverProcess(tmp_path / "hanging", delay=60).start()
    receivers += [flaky, hanging]
    events = ["started", "succeeded", "failed"]
    hook = api.create_webhook(flaky.url, events, name="flaky", secret=SECRET)
    api.create_webhook(hanging.url, events, name="hanging", secret=SECRET)
    model = api.create_model(
        "hello", io.BytesIO(note("%python\nprint('hello')")), filename="hello.zpln"
    )
    configuration = api.create_configuration("webhooks")
    output = api.create_directory("webhook-out", "_PUBLIC_ROOT_ID")
    job = api.submit_job(model.id, configuration.id, "_PUBLIC_ROOT_ID", output.id)
    final = api.wait_for_job(job.id, interval=0.2, timeout=120)
    assert final.status == "SUCCEEDED"

    requests = flaky.wait_for(
        lambda found: delivered(found, "started") and delivered(found, "succeeded")
    )
    assert requests[0]["answered"] == 500  # the first attempt failed, and was retried
    for event in ("started", "succeeded"):
        (request,) = delivered(requests, event)
        assert signed(request)
        body = json.loads(request["body"])
        assert body["job"]["id"] == job.id and body["webhookId"] == hook.id
    log = list(api.iter_deliveries(hook.id))
    assert sorted(d.status for d in log) == ["delivered", "delivered"]
    assert any([e["statusCode"] for e in d.log] == [500, 204] for d in log)

    # The hanging receiver holds its first request for a minute: the job ended meanwhile.
    first_hang = hanging.wait_for(lambda found: len(found) >= 1)[0]
    assert final.end_date is not None
    assert final.end_date.timestamp() < first_hang["time"] + SEND_TIMEOUT_SECONDS
    assert "Traceback" not in hanging.log_file.read_text()
