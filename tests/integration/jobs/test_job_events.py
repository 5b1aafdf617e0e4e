"""A job's events (`GET /jobs/{id}/events`, an extension) for jobs that ran on a real
service with real kernels: what they say, resuming, tenancy, caps, purging."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import jsonschema_rs
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from jobmanager.store.types import utcnow
from jobmanager.web.app import create_app
from tests.acceptance.api import Caller, note
from tests.acceptance.server import free_port
from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import FINAL, JOBS, create_configuration, wait_for, zeppelin_note
from tests.integration.jobs.test_job_runs import submit
from tests.integration.jobs.test_notebook_jobs import notebook, run
from tests.sse import Message, parse

NOTE = zeppelin_note(
    "%python\nimport sys\nfor i in range(3):\n    print('line', i)\n"
    "print('careful', file=sys.stderr)\n6 * 7",
    "%sh\necho from the shell",
    "%python\nraise ValueError('broken sensor')",
)


def events_of(
    client: TestClient, tenant: TenantClient, job_id: str, **params: str
) -> list[Message]:
    headers = {**tenant.headers}
    if "last_event_id" in params:
        headers["Last-Event-ID"] = params.pop("last_event_id")
    answer = client.get(f"{JOBS}/{job_id}/events", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    return parse(answer.text)


def ended_job(
    client: TestClient, tenant: TenantClient, folders: tuple[str, str], note: bytes = NOTE
) -> str:
    job_id = str(submit(client, tenant, note, folders)["id"])
    wait_for(client, tenant, job_id, FINAL)
    return job_id


def output(events: list[Message], index: int, stream: str) -> str:
    return "".join(
        e.data["text"]
        for e in events
        if e.event == "output" and e.data["index"] == index and e.data["stream"] == stream
    )


def test_an_ended_jobs_events_replay_in_order_then_the_stream_ends(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    events = events_of(client, tenant_a, ended_job(client, tenant_a, folders))
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    statuses = [e.data["status"] for e in events if e.event == "status"]
    assert statuses == ["STARTING", "RUNNING", "FAILED"]
    assert events[-1].event == "end"
    assert events[-1].data["status"] == "FAILED"
    assert "Paragraph 3 of 3 failed" in events[-1].data["message"]
    started = [e.data for e in events if e.event == "started"]
    assert [(s["index"], s["total"], s["unit"]) for s in started] == [
        (1, 3, "paragraph"),
        (2, 3, "paragraph"),
        (3, 3, "paragraph"),
    ]
    finished = [e.data for e in events if e.event == "finished"]
    assert [f["status"] for f in finished] == ["FINISHED", "FINISHED", "ERROR"]
    assert finished[2]["summary"] == "ValueError: broken sensor"
    assert output(events, 1, "stdout") == "line 0\nline 1\nline 2\n"
    assert output(events, 1, "stderr") == "careful\n"
    assert output(events, 1, "result") == "42\n"
    assert output(events, 2, "stdout") == "from the shell\n"
    assert "ValueError: broken sensor" in output(events, 3, "stderr")
    # Output of a paragraph comes between its start and its end.
    kinds = [(e.event, e.data.get("index")) for e in events]
    assert kinds.index(("started", 2)) < kinds.index(("output", 2)) < kinds.index(("finished", 2))


def test_a_resume_point_gives_exactly_the_events_after_it(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    job_id = ended_job(client, tenant_a, folders)
    everything = events_of(client, tenant_a, job_id)
    middle = len(everything) // 2
    by_header = events_of(client, tenant_a, job_id, last_event_id=str(middle))
    by_query = events_of(client, tenant_a, job_id, lastEventId=str(middle))
    assert by_header == everything[middle:] == by_query
    # The header is what EventSource sends on reconnect: it wins over the first URL's query.
    both = events_of(client, tenant_a, job_id, lastEventId="1", last_event_id=str(middle))
    assert both == everything[middle:]
    # After the end, the stream says so at once (without an id: the resume point stays).
    (after_end,) = events_of(client, tenant_a, job_id, lastEventId=str(len(everything)))
    assert (after_end.id, after_end.event) == (None, "end")
    assert after_end.data["status"] == "FAILED"
    assert after_end.data["message"] == everything[-1].data["message"]


def test_another_tenants_stream_is_not_found(
    client: TestClient,
    tenant_a: TenantClient,
    tenant_b: TenantClient,
    folders: tuple[str, str],
) -> None:
    job_id = ended_job(client, tenant_a, folders)
    other = client.get(f"{JOBS}/{job_id}/events", headers=tenant_b.headers)
    unknown = client.get(f"{JOBS}/no-such-job/events", headers=tenant_b.headers)
    assert assert_error(other, 404)["message"] == assert_error(unknown, 404)["message"].replace(
        "no-such-job", job_id
    )
    assert client.get(f"{JOBS}/{job_id}/events").status_code == 401


def test_a_resume_point_that_is_no_sequence_number_is_a_bad_request(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    job_id = ended_job(client, tenant_a, folders, zeppelin_note("%python\nprint(1)"))
    url = f"{JOBS}/{job_id}/events"
    for bad in ("abc", "-1", "1.5", "99999999999"):
        by_header = client.get(url, headers={**tenant_a.headers, "Last-Event-ID": bad})
        assert "Last-Event-ID" in assert_error(by_header, 400)["message"]
        by_query = client.get(url, headers=tenant_a.headers, params={"lastEventId": bad})
        assert "lastEventId" in assert_error(by_query, 400)["message"]
    bad_follow = client.get(url, headers=tenant_a.headers, params={"follow": "maybe"})
    assert "follow" in assert_error(bad_follow, 400)["message"]


def test_output_beyond_the_paragraph_cap_is_dropped_and_the_stream_says_so(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    flood = zeppelin_note(
        "%python\nfor i in range(3000):\n    print('x' * 99)",
        "%python\nprint('next paragraph')",
    )
    events = events_of(client, tenant_a, ended_job(client, tenant_a, folders, flood))
    stored = output(events, 1, "stdout")
    assert 100_000 < len(stored) <= 102_400  # the executed note's cap (Zeppelin's default)
    (notice,) = [e.data for e in events if e.event == "truncated"]
    assert notice["index"] == 1 and notice["limitBytes"] == 102_400
    assert notice["scope"] == "paragraph"
    assert output(events, 2, "stdout") == "next paragraph\n"
    assert len([e for e in events if e.event == "output"]) < 100  # batched, not per print


def test_a_notebooks_events_name_cells(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    book = notebook("print('in a cell')", "1 + 1")
    job_id = run(client, tenant_a, book, folders)["id"]
    events = events_of(client, tenant_a, job_id)
    finished = [e.data for e in events if e.event == "finished"]
    assert [(f["unit"], f["index"], f["total"], f["status"]) for f in finished] == [
        ("cell", 1, 2, "FINISHED"),
        ("cell", 2, 2, "FINISHED"),
    ]
    assert finished[0]["summary"] == "in a cell"
    assert output(events, 1, "stdout") == "in a cell\n"
    assert output(events, 2, "result") == "2\n"
    assert events[-1].event == "end" and events[-1].data["status"] == "SUCCEEDED"


def test_a_job_stopped_before_it_started_has_its_status_and_end(
    client: TestClient, services: Services, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    configuration = create_configuration(client, tenant_a, maxEnvironments=1)
    long = zeppelin_note("%python\nimport time\ntime.sleep(60)")
    first = submit(client, tenant_a, long, folders, configuration)["id"]
    waiting = submit(client, tenant_a, long, folders, configuration)["id"]
    wait_for(client, tenant_a, first, {"RUNNING"})
    client.post(f"{JOBS}/{waiting}/stop", headers=tenant_a.headers)
    events = events_of(client, tenant_a, waiting)
    assert [(e.event, e.data["status"]) for e in events] == [
        ("status", "STOPPED"),
        ("end", "STOPPED"),
    ]
    client.post(f"{JOBS}/{first}/stop", headers=tenant_a.headers)
    wait_for(client, tenant_a, first, FINAL)
    statuses = [e.data["status"] for e in events_of(client, tenant_a, first) if e.event == "status"]
    assert statuses == ["STARTING", "RUNNING", "STOPPING", "STOPPED"]


def test_without_follow_the_stream_ends_with_what_is_stored(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note("%python\nprint('before', flush=True)\nimport time\ntime.sleep(60)")
    job_id = submit(client, tenant_a, note, folders)["id"]
    wait_for(client, tenant_a, job_id, {"RUNNING"})
    events: list[Message] = []
    for _ in range(100):
        events = events_of(client, tenant_a, job_id, follow="false")
        if output(events, 1, "stdout"):
            break
    assert output(events, 1, "stdout") == "before\n"
    assert events[-1].event != "end"
    client.post(f"{JOBS}/{job_id}/stop", headers=tenant_a.headers)
    wait_for(client, tenant_a, job_id, FINAL)


def test_events_go_with_their_job_when_it_is_purged(
    client: TestClient, services: Services, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    job_id = ended_job(client, tenant_a, folders)
    assert services.store.events.after(job_id, 0)
    assert services.store.execution.purge_final(utcnow() + timedelta(seconds=1)) == 1
    assert services.store.events.after(job_id, 0) == []
    assert client.get(f"{JOBS}/{job_id}/events", headers=tenant_a.headers).status_code == 404


@pytest.fixture
def served(settings: Settings, services: Services) -> Iterator[tuple[str, FastAPI]]:
    """The app on a real uvicorn server in a thread: its URL, and the app to look into."""
    app = create_app(settings, services)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(30)


def test_a_client_that_leaves_ends_its_stream_on_the_server(
    served: tuple[str, FastAPI], services: Services
) -> None:
    url, app = served
    services.store.tenants.create("tenant-a")
    made = services.store.tenants.create_credentials("tenant-a")
    token = httpx.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(made.client_id, made.client_secret),
    ).json()["access_token"]
    caller = Caller(url, token)
    try:
        # One line, then quiet: only the server's own check can see the client leave.
        endless = note("%python\nprint('started', flush=True)\nimport time\ntime.sleep(600)")
        job_id = caller.submit(caller.model(endless), caller.configuration(), caller.folder("o"))
        with caller.http.stream("GET", f"{JOBS}/{job_id}/events") as answer:
            lines = answer.iter_lines()  # held: a dropped iterator closes the connection
            for line in lines:
                if line.startswith("event: output"):
                    break
            assert app.state.event_streams.count == 1
        deadline = time.monotonic() + 5
        while app.state.event_streams.count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.event_streams.count == 0
        assert caller.job(job_id)["status"] == "RUNNING"  # the stream ended, not the job
        caller.http.post(f"{JOBS}/{job_id}/stop")
        caller.wait(job_id, lambda job: job["status"] in FINAL)
    finally:
        caller.close()


def test_the_openapi_document_shows_the_stream_as_an_extension(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][f"{JOBS}/{{job_id}}/events"]["get"]
    assert operation["x-extension"] is True
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"Last-Event-ID", "lastEventId", "follow"} <= names


def test_every_event_is_one_the_openapi_document_describes(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    job_id = ended_job(client, tenant_a, folders)
    stored = events_of(client, tenant_a, job_id)
    made_up_end = events_of(client, tenant_a, job_id, lastEventId=str(len(stored)))
    operation = client.get("/openapi.json").json()["paths"][f"{JOBS}/{{job_id}}/events"]["get"]
    event = operation["responses"]["200"]["content"]["text/event-stream"]["schema"]
    data_of_kind = {
        kind["properties"]["event"]["const"]: jsonschema_rs.validator_for(
            kind["properties"]["data"]["contentSchema"], validate_formats=True
        )
        for kind in event["oneOf"]
    }
    for message in stored + made_up_end:
        data_of_kind[message.event].validate(message.data)
    assert {m.event for m in stored} == {"status", "started", "output", "finished", "end"}
    # What the document promises is checked: an end without its time is not one.
    end = {k: v for k, v in made_up_end[0].data.items() if k != "time"}
    assert not data_of_kind["end"].is_valid(end)
