"""The client's pure parts: results parsing, error mapping, request building, tokens, paths."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest

from jobmanager.client import (
    ApiError,
    AuthError,
    BadRequestError,
    ConflictError,
    File,
    Job,
    NotFoundError,
    ServerError,
)
from jobmanager.client.call import Sink, Upload
from jobmanager.client.calls import dataexchange, jobs, models
from jobmanager.client.calls.auth import token
from jobmanager.client.errors import error_from_response
from jobmanager.client.events import RECONNECT_ATTEMPTS, Following, JobEvent, SseReader
from jobmanager.client.folders import is_path, split_path
from jobmanager.client.session import TokenCache, base_url
from jobmanager.client.types import Token


def answer(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body, request=httpx.Request("GET", "http://x/api/y"))


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthError),
        (404, NotFoundError),
        (409, ConflictError),
        (500, ServerError),
        (418, ApiError),
    ],
)
def test_error_answers_become_typed_exceptions(status: int, kind: type[ApiError]) -> None:
    body = json.dumps({"errors": [{"code": "c.x", "logref": "abc", "message": "what"}]}).encode()
    error = error_from_response(answer(status, body), body)
    assert type(error) is kind
    assert (error.status, error.code, error.logref, error.message) == (status, "c.x", "abc", "what")
    assert "logref abc" in str(error)


def test_error_without_the_error_format_keeps_the_text() -> None:
    error = error_from_response(answer(502, b"Bad gateway from proxy"), b"Bad gateway from proxy")
    assert isinstance(error, ServerError)
    assert "Bad gateway from proxy" in error.message
    assert error.code == "http.502"


def test_job_parses_documented_shapes_and_ignores_extensions() -> None:
    job = Job.model_validate(
        {
            "id": "j1",
            "jobId": "j1",
            "maximumExecutionTimeInSeconds": "7200",
            "status": "RUNNING",
            "creationDate": "2018-10-01T12:00:00.001Z",
            "progress": {"unit": "cell", "current": 2, "total": 5, "title": "t", "text": "x"},
            "somethingNew": {"a": 1},
        }
    )
    assert job.maximum_execution_time_in_seconds == 7200
    assert job.creation_date is not None and job.creation_date.microsecond == 1000
    assert job.progress is not None and job.progress.unit == "cell"
    assert not job.is_final
    assert job.raw["somethingNew"] == {"a": 1}
    assert File.model_validate({"id": "f", "type": False}).type is None


def test_submit_sends_the_documented_body() -> None:
    call = jobs.submit_job("m", "c", "i", "o", maximum_execution_time=60, parameters={"a": 1})
    assert call.method == "POST"
    assert call.json == {
        "modelId": "m",
        "configurationId": "c",
        "inputFolderId": "i",
        "outputFolderId": "o",
        "maximumExecutionTimeInSeconds": "60",
        "parameters": {"a": 1},
    }


def test_list_filter_is_json_text_and_ids_are_one_segment() -> None:
    call = jobs.list_jobs({"status": "FAILED"}, page_number=2, page_size=10)
    assert call.params == {"pageNumber": 2, "pageSize": 10, "filter": '{"status":"FAILED"}'}
    assert jobs.get_job("a/../b").path == "/api/jobmanager/v3/jobs/a%2F..%2Fb"


def test_empty_post_says_json_and_download_asks_for_bytes() -> None:
    assert jobs.stop_job("j").request_args()["headers"]["Content-Type"] == "application/json"
    call = models.download_version("m", io.BytesIO())
    assert call.headers["Content-Type"] == "application/octet-stream"


def test_token_request_uses_basic_auth_and_the_form() -> None:
    call = token("id", "s:cret")
    assert call.headers["Authorization"] == "Basic aWQ6czpjcmV0"
    assert call.data == {"grant_type": "client_credentials"}
    assert not call.authenticated


def test_upload_part_streams_with_length_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * 100_000)
    seen: list[int] = []
    call = dataexchange.upload_file("parent", path, progress=seen.append)
    request = httpx.Request("POST", "http://x/", **call.request_args())
    body = b"".join(request.stream)  # type: ignore[arg-type]
    assert int(request.headers["Content-Length"]) == len(body)
    assert b'name="metadata"' in body
    assert b'"parentId":"parent"' in body
    assert sum(seen) == 100_000
    call.upload.done()  # type: ignore[union-attr]


def test_upload_of_an_open_file_keeps_it_open() -> None:
    source = io.BytesIO(b"abc")
    Upload.of(source, "n", None).done()
    assert not source.closed


def test_sink_writes_under_a_temporary_name_then_renames(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"
    sink = Sink(target, None)
    sink.open()
    sink.write(b"part")
    assert not target.exists()
    sink.commit()
    assert target.read_bytes() == b"part"
    failed = Sink(tmp_path / "never.bin", None)
    failed.open()
    failed.write(b"x")
    failed.abort()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]


def test_token_cache_renews_before_expiry() -> None:
    cache = TokenCache()
    assert cache.current() is None
    cache.store(Token(access_token="a", expires_in=1800))
    assert cache.current() == "a"
    cache.store(Token(access_token="b", expires_in=0))
    assert cache.current() is None
    cache.store(Token(access_token="c", expires_in=1800))
    cache.clear()
    assert cache.current() is None


def test_folder_paths() -> None:
    assert is_path("public/inputs/day1")
    assert is_path("/private")
    assert not is_path("3f2a-uuid")
    assert split_path("public/inputs//day1/") == ("_PUBLIC_ROOT_ID", ["inputs", "day1"])
    assert split_path("private") == ("_PRIVATE_ROOT_ID", [])
    with pytest.raises(ValueError, match="public/ or private/"):
        split_path("elsewhere/x")


def test_base_url_must_be_http() -> None:
    assert base_url(" http://h:1/ ") == "http://h:1"
    with pytest.raises(ValueError, match="http"):
        base_url("h:1")


def test_the_event_reader_follows_the_server_sent_events_format() -> None:
    reader = SseReader()
    lines = [
        "retry: 2500",
        "",
        ": keep-alive",
        "",
        "id: 7",
        "event: output",
        'data: {"index": 1,',
        'data: "stream": "stdout", "text": "hi\\n"}',
        "",
        "event: end",
        'data: {"status": "FAILED"}',
        "",
    ]
    events = [event for line in lines if (event := reader.feed(line)) is not None]
    assert events == [
        JobEvent(7, "output", {"index": 1, "stream": "stdout", "text": "hi\n"}),
        JobEvent(None, "end", {"status": "FAILED"}),
    ]
    assert events[0].text == "hi\n" and events[0].stream == "stdout"
    assert events[1].is_end and events[1].text == ""
    assert reader.retry_seconds == 2.5


def test_a_follower_resumes_after_its_last_event_and_waits_longer_each_failure() -> None:
    following = Following("job-1")
    assert "Last-Event-ID" not in following.call().headers
    for line in ("retry: 500", "", "id: 3", "event: status", 'data: {"status": "RUNNING"}', ""):
        following.line(line)
    assert following.last_event_id == 3 and not following.done
    call = following.call()
    assert call.headers["Last-Event-ID"] == "3"
    assert call.path == "/api/jobmanager/v3/jobs/job-1/events" and call.params is None
    delays = [following.failed() for _ in range(RECONNECT_ATTEMPTS + 1)]
    assert delays[:3] == [0.5, 1.0, 1.5] and delays[-1] is None
    following.failures = 0
    following.call()
    following.closed()  # nothing came on this connection: reconnect after a pause
    assert not following.done and following.pause == 0.5
    following.call()
    following.line("id: 4")
    following.line("event: output")
    following.line('data: {"text": "x"}')
    following.line("")
    following.closed()  # the stream closed after events: reconnect at once
    assert not following.done and following.pause == 0.0
    for line in ("id: 5", "event: end", 'data: {"status": "STOPPED"}', ""):
        following.line(line)
    assert following.done and following.failures == 0


def test_without_follow_a_closed_stream_is_the_end() -> None:
    following = Following("job-1", follow=False)
    assert following.call().params == {"follow": "false"}
    following.closed()
    assert following.done
