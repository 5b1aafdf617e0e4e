"""`jobmanager.client.Client` against a real server: every area, errors, paging, streaming."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from jobmanager.client import (
    PUBLIC_ROOT_ID,
    AuthError,
    BadRequestError,
    Client,
    Directory,
    File,
    NotFoundError,
    ServerUnavailable,
    Trigger,
    UnexpectedAnswer,
)
from jobmanager.client.folders import download_tree, resolve, resolve_folder, upload_tree
from tests.acceptance.server import ServerProcess, free_port


def test_configurations_round_trip(api: Client) -> None:
    created = api.create_configuration(
        "small", packages=[], cpus=1.0, memory_mib=512, environment_variables={"MODE": "test"}
    )
    assert created.resources.memory_mib == 512
    assert created.environment_variables == {"MODE": "test"}
    changed = api.update_configuration(created.id, {"description": "for tests"})
    assert changed.description == "for tests"
    assert created.id in {c.id for c in api.iter_configurations()}
    api.delete_configuration(created.id)
    with pytest.raises(NotFoundError) as raised:
        api.get_configuration(created.id)
    assert raised.value.status == 404
    assert raised.value.logref
    assert created.id in raised.value.message


def test_models_upload_download_versions(api: Client, tmp_path: Path, notebook_file: Path) -> None:
    sent: list[int] = []
    model = api.create_model("double", notebook_file, description="doubles", progress=sent.append)
    assert sum(sent) == notebook_file.stat().st_size
    assert model.last_version is not None
    assert model.last_version.payload_kind == "zeppelin"
    second = api.create_version(model.id, io.BytesIO(b'{"empty": "model"}'), filename="m.json")
    assert second.number == 2
    assert [v.number for v in api.iter_versions(model.id)] == [2, 1] or len(
        list(api.iter_versions(model.id))
    ) == 2
    target = tmp_path / "down" / "model.zpln"
    size = api.download_version(model.id, target, model.last_version.id)
    assert target.read_bytes() == notebook_file.read_bytes()
    assert size == notebook_file.stat().st_size
    buffer = io.BytesIO()
    api.download_version(model.id, buffer)
    assert buffer.getvalue() == b'{"empty": "model"}'
    assert api.update_model(model.id, name="doubler").name == "doubler"
    assert model.id in {m.id for m in api.iter_models({"name": "doubler"})}
    api.delete_model(model.id)
    with pytest.raises(NotFoundError):
        api.get_model(model.id)
    assert not list(tmp_path.joinpath("down").glob(".*"))  # no temporary left behind


def test_download_of_unknown_version_leaves_no_file(api: Client, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        api.download_version("no-such-model", tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []


def test_data_exchange_files_and_folders(api: Client, tmp_path: Path) -> None:
    folder = api.create_directory("client-test", PUBLIC_ROOT_ID)
    uploaded = api.upload_file(folder.id, io.BytesIO(b"a,b\n1,2\n"), name="t.csv", type="text/csv")
    assert uploaded.size_in_bytes == 8
    assert api.get_file(uploaded.id).name == "t.csv"
    replaced = api.replace_file(uploaded.id, io.BytesIO(b"new"))
    assert replaced.size_in_bytes == 3
    buffer = io.BytesIO()
    api.download_file(uploaded.id, buffer)
    assert buffer.getvalue() == b"new"
    sub = api.create_directory("sub", folder.id)
    moved = api.update_file(uploaded.id, parent_id=sub.id, name="moved.csv")
    assert (moved.parent_id, moved.name) == (sub.id, "moved.csv")
    entries = list(api.iter_directory(folder.id))
    assert [(type(e), e.name) for e in entries] == [(Directory, "sub")]
    with pytest.raises(BadRequestError) as raised:
        api.create_directory("..", folder.id)
    assert raised.value.status == 400
    api.delete_directory(folder.id, recursive=True)
    with pytest.raises(NotFoundError):
        api.get_file(uploaded.id)


def test_paging_walks_every_page(api: Client) -> None:
    folder = api.create_directory("many", PUBLIC_ROOT_ID)
    for index in range(7):
        api.create_directory(f"d{index}", folder.id)
    page = api.list_directory(folder.id, page_size=3)
    assert page.page.total_pages == 3
    assert len(page.items) == 3
    seen = []
    for number in range(3):
        seen += [
            e.name for e in api.list_directory(folder.id, page_number=number, page_size=3).items
        ]
    assert sorted(seen) == [f"d{i}" for i in range(7)]
    assert sorted(e.name for e in api.iter_directory(folder.id, page_size=2)) == sorted(seen)
    api.delete_directory(folder.id, recursive=True)


def test_tree_upload_by_path_and_download(api: Client, tmp_path: Path) -> None:
    local = tmp_path / "in"
    (local / "deep" / "er").mkdir(parents=True)
    (local / "a.txt").write_text("A")
    (local / "deep" / "er" / "b.bin").write_bytes(os.urandom(300_000))
    target = resolve_folder(api, "public/tree/day1", create=True)
    counted: list[int] = []
    files = upload_tree(api, local, target.id, progress=counted.append)
    assert len(files) == 2
    assert sum(counted) == 300_001
    upload_tree(api, local, target.id)  # again: replaces, no conflict
    assert isinstance(resolve(api, "public/tree/day1/deep/er/b.bin"), File)
    out = tmp_path / "out"
    download_tree(api, resolve_folder(api, "/public/tree/").id, out)
    digest = hashlib.sha256((local / "deep" / "er" / "b.bin").read_bytes()).hexdigest()
    assert (
        hashlib.sha256((out / "day1" / "deep" / "er" / "b.bin").read_bytes()).hexdigest() == digest
    )
    assert (out / "day1" / "a.txt").read_text() == "A"
    with pytest.raises(NotFoundError, match="public/tree/nope"):
        resolve_folder(api, "public/tree/nope/x")


def test_bad_credentials_raise_auth_error(server: ServerProcess) -> None:
    with Client(server.url, "nobody", "wrong") as client, pytest.raises(AuthError) as raised:
        client.list_models()
    assert raised.value.status == 401
    assert raised.value.code
    assert "secret" in raised.value.message


def test_expired_or_revoked_token_is_renewed_once(api: Client) -> None:
    api.token()
    api._token.value = "not-a-valid-token"  # as if the server had rotated its keys
    assert isinstance(api.list_configurations().items, list)
    assert api._token.value != "not-a-valid-token"
    api._token.value = "not-a-valid-token"
    source = io.BytesIO(b"header-to-skip|content")
    source.seek(len(b"header-to-skip|"))
    uploaded = api.upload_file(PUBLIC_ROOT_ID, source, name="retried.txt")  # sent twice
    copy = io.BytesIO()
    api.download_file(uploaded.id, copy)
    assert copy.getvalue() == b"content"
    api.delete_file(uploaded.id)


def test_server_down_is_server_unavailable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, "id", "secret") as client, pytest.raises(ServerUnavailable) as raised:
        client.list_jobs()
    assert url in str(raised.value)
    assert "refused" in str(raised.value)


def test_a_server_that_is_not_jobmanager_is_an_unexpected_answer() -> None:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>a captive portal</html>")

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=httpd.handle_request, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_port}"
    try:
        with Client(url, "id", "secret") as client, pytest.raises(UnexpectedAnswer) as raised:
            client.list_jobs()
        assert url in str(raised.value)
    finally:
        thread.join(5)
        httpd.server_close()


def test_job_runs_and_outputs_arrive(api: Client, notebook_file: Path, tmp_path: Path) -> None:
    model = api.create_model("double-job", notebook_file)
    config = api.create_configuration("job-test")
    inputs = api.create_directory("job-in", PUBLIC_ROOT_ID)
    outputs = api.create_directory("job-out", PUBLIC_ROOT_ID)
    api.upload_file(inputs.id, io.BytesIO(b"21\n"), name="numbers.txt")
    job = api.submit_job(model.id, config.id, inputs.id, outputs.id, maximum_execution_time=120)
    assert job.status == "SUBMITTED"
    assert job.maximum_execution_time_in_seconds == 120
    seen: list[str] = []
    final = api.wait_for_job(
        job.id, interval=0.2, timeout=120, on_update=lambda j: seen.append(j.status)
    )
    assert final.status == "SUCCEEDED", final.message
    assert final.end_date is not None
    assert seen[-1] == "SUCCEEDED"
    names = {remote.name: remote for remote in api.iter_directory(outputs.id)}
    assert "result.txt" in names
    buffer = io.BytesIO()
    api.download_file(names["result.txt"].id, buffer)
    assert buffer.getvalue() == b"42"
    saved = {output.path: output for output in api.iter_job_outputs(job.id)}
    assert saved["result.txt"].size_in_bytes == 2 and saved["result.txt"].attempt == 1
    assert saved["result.txt"].sha256 == hashlib.sha256(b"42").hexdigest()
    assert api.download_job_output(job.id, "result.txt", tmp_path / "mine.txt") == 2
    assert (tmp_path / "mine.txt").read_bytes() == b"42"
    with pytest.raises(NotFoundError):
        api.download_job_output(job.id, "nothing.txt", tmp_path / "nothing.txt")
    assert not (tmp_path / "nothing.txt").exists()
    assert job.id in {j.id for j in api.iter_jobs({"status": "SUCCEEDED"})}
    assert job.id not in {j.id for j in api.iter_jobs({"status": {"eq": "FAILED"}})}
    assert api.stop_job(job.id).status == "SUCCEEDED"


def test_bad_filter_is_bad_request(api: Client) -> None:
    with pytest.raises(BadRequestError):
        api.list_jobs("{not json")


def test_schedules_lifecycle(api: Client, notebook_file: Path) -> None:
    model = api.create_model("scheduled", notebook_file)
    config = api.create_configuration("schedule-test")
    folder = api.create_directory("sched", PUBLIC_ROOT_ID)
    schedule = api.create_schedule(
        "nightly",
        model.id,
        config.id,
        folder.id,
        folder.id,
        "0 0 3 * * ?",
        maximum_execution_time=60,
        timezone="Europe/Berlin",
        overlap="allow",
        parameters={"day": "today"},
    )
    assert schedule.status == "RUNNING"
    assert (schedule.timezone, schedule.overlap) == ("Europe/Berlin", "allow")
    assert schedule.parameters == {"day": "today"}
    assert len(schedule.next_fire_times) == 5
    assert all(t.hour in (1, 2) and t.minute == 0 for t in schedule.next_fire_times)  # 03:00 Berlin
    assert api.stop_schedule(schedule.id).status == "STOPPED"
    assert api.start_schedule(schedule.id).status == "RUNNING"
    assert schedule.id in {s.id for s in api.iter_schedules({"name": "nightly"})}
    api.delete_schedule(schedule.id)
    with pytest.raises(NotFoundError):
        api.get_schedule(schedule.id)


def test_a_trigger_schedule_fires_on_an_upload_and_lists_the_file(
    api: Client, notebook_file: Path
) -> None:
    model = api.create_model("on-upload", notebook_file)
    config = api.create_configuration("trigger-test")
    incoming = api.create_directory("incoming", PUBLIC_ROOT_ID)
    schedule = api.create_schedule(
        "on upload",
        model.id,
        config.id,
        incoming.id,
        incoming.id,
        trigger=Trigger(folder_id=incoming.id, pattern="*.csv"),
        maximum_execution_time=60,
    )
    assert schedule.trigger is not None
    assert (schedule.trigger.folder_id, schedule.trigger.pattern) == (incoming.id, "*.csv")
    assert schedule.schedule_string == "" and schedule.next_fire_times == []
    api.upload_file(incoming.id, io.BytesIO(b"t,v\n1,2\n"), name="day1.csv")
    deadline = time.monotonic() + 30
    while not (fired := list(api.iter_firings(schedule.id))):
        assert time.monotonic() < deadline, "the upload fired nothing"
        time.sleep(0.1)
    (firing,) = fired
    assert [f["name"] for f in firing.files] == ["day1.csv"]
    assert api.get_job(firing.job_id or "").schedule_id == schedule.id
    api.delete_schedule(schedule.id)


def test_webhooks_lifecycle(api: Client) -> None:
    made = api.create_webhook(
        "https://hooks.example.com/jobs",
        ["failed", "longerThan"],
        name="ops",
        longer_than_seconds=600,
    )
    assert made.secret and made.events == ["failed", "longerThan"]
    assert made.longer_than_seconds == 600
    read = api.get_webhook(made.id)
    assert read.secret is None and read.url == made.url
    assert made.id in {w.id for w in api.iter_webhooks()}
    assert list(api.iter_deliveries(made.id)) == []
    api.delete_webhook(made.id)
    with pytest.raises(NotFoundError):
        api.get_webhook(made.id)


def test_uses_given_http_client(server: ServerProcess) -> None:
    credentials = server.dev_credentials()
    seen: list[str] = []
    http = httpx.Client(
        base_url=server.url, event_hooks={"request": [lambda r: seen.append(r.url.path)]}
    )
    with Client(server.url, credentials["clientId"], credentials["clientSecret"], http=http) as c:
        c.list_jobs()
    assert seen == ["/oauth/token", "/api/jobmanager/v3/jobs"]
