"""`GET /jobs/{id}/outputs` and its downloads, with jobs that really run (SQLite and
PostgreSQL): a job lists and downloads exactly what it saved, also after a re-run
overwrote the output folder, which shows the latest; a running job has none until it
saved some; a retried attempt's outputs are the job's under `attempt-N/`; a repair starts
from the failed job's own executed note."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import (
    FINAL,
    JOBS,
    folder_files,
    upload_file,
    wait_for,
    zeppelin_note,
)
from tests.integration.jobs.test_job_runs import submit
from tests.integration.jobs.test_provenance import STATEFUL_NOTE, job_body, run

WRITES = "%python\nimport os\nos.makedirs(outputFolder + '/plots', exist_ok=True)\n"


def writer(text: str) -> bytes:
    """A note that saves `text` as result.txt and plots/raw.bin."""
    return zeppelin_note(
        WRITES
        + f"open(outputFolder + '/result.txt', 'w').write({text!r})\n"
        + f"open(outputFolder + '/plots/raw.bin', 'wb').write({text.encode()!r} * 1000)"
    )


def outputs_of(client: TestClient, tenant: TenantClient, job_id: str, **params: Any) -> Any:
    answer = client.get(f"{JOBS}/{job_id}/outputs", headers=tenant.headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def download(client: TestClient, tenant: TenantClient, job_id: str, path: str) -> bytes:
    answer = client.get(f"{JOBS}/{job_id}/outputs/{path}", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return bytes(answer.content)


def test_a_job_shows_and_downloads_what_it_wrote_after_a_rerun_overwrote_it(
    client: TestClient,
    tenant_a: TenantClient,
    tenant_b: TenantClient,
    folders: tuple[str, str],
) -> None:
    first = submit(client, tenant_a, writer("first"), folders)
    assert wait_for(client, tenant_a, first["id"], FINAL)["status"] == "SUCCEEDED"
    second = submit(client, tenant_a, writer("second"), folders)
    assert wait_for(client, tenant_a, second["id"], FINAL)["status"] == "SUCCEEDED"

    listed = outputs_of(client, tenant_a, first["id"])
    assert listed["page"]["totalElements"] == 3 and listed["content"] == listed["outputs"]
    by_path = {item["path"]: item for item in listed["outputs"]}
    assert sorted(by_path) == ["m_2TESTNOTE.zpln", "plots/raw.bin", "result.txt"]
    result = by_path["result.txt"]
    assert result["name"] == "result.txt" and result["type"] == "text/plain"
    assert result["sizeInBytes"] == 5 and result["attempt"] == 1
    assert result["sha256"] == hashlib.sha256(b"first").hexdigest()
    assert result["creationDate"].endswith("Z")

    assert download(client, tenant_a, first["id"], "result.txt") == b"first"
    assert download(client, tenant_a, first["id"], "plots/raw.bin") == b"first" * 1000
    note = json.loads(download(client, tenant_a, first["id"], "m_2TESTNOTE.zpln"))
    assert first["id"] in json.dumps(note) and second["id"] not in json.dumps(note)
    assert download(client, tenant_a, second["id"], "result.txt") == b"second"
    answer = client.get(f"{JOBS}/{first['id']}/outputs/result.txt", headers=tenant_a.headers)
    assert answer.headers["content-type"].startswith("text/plain")
    assert 'filename="result.txt"' in answer.headers["content-disposition"]
    # The folder shows the latest, as Data Exchange does.
    assert folder_files(client, tenant_a, folders[1])["result.txt"] == b"second"

    paged = outputs_of(client, tenant_a, first["id"], pageSize=2, pageNumber=1)
    assert [item["path"] for item in paged["outputs"]] == ["result.txt"]
    assert paged["page"]["totalPages"] == 2
    assert outputs_of(client, tenant_a, first["id"], pageNumber=5)["outputs"] == []

    for path in ("nothing.txt", "plots", "result.txt/x", "a%00b", "%2Fresult.txt"):
        answer = client.get(f"{JOBS}/{first['id']}/outputs/{path}", headers=tenant_a.headers)
        assert_error(answer, 404)
    for url in (f"{JOBS}/{first['id']}/outputs", f"{JOBS}/{first['id']}/outputs/result.txt"):
        assert_error(client.get(url, headers=tenant_b.headers), 404)


def test_a_running_job_shows_no_outputs_until_it_saved_some(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nopen(outputFolder + '/early.txt', 'w').write('kept')\nprint('written')",
        "%python\nimport time\nfor _ in range(1200):\n    time.sleep(0.1)",
    )
    job = submit(client, tenant_a, note, folders)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = client.get(f"{JOBS}/{job['id']}", headers=tenant_a.headers).json()
        if (running.get("progress") or {}).get("current") == 2:
            break
        time.sleep(0.1)
    assert running["status"] == "RUNNING", running
    listed = outputs_of(client, tenant_a, job["id"])
    assert listed["outputs"] == [] and listed["page"]["totalPages"] == 0
    client.post(f"{JOBS}/{job['id']}/stop", headers=tenant_a.headers)
    assert wait_for(client, tenant_a, job["id"], FINAL)["status"] == "STOPPED"
    paths = [item["path"] for item in outputs_of(client, tenant_a, job["id"])["outputs"]]
    assert "early.txt" in paths
    assert download(client, tenant_a, job["id"], "early.txt") == b"kept"


def test_a_retried_attempts_outputs_are_the_jobs_under_its_name(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nimport os\nopen(outputFolder + '/tried.bin', 'wb').write(os.urandom(64))",
        "%python\nraise RuntimeError('always')",
    )
    retry = {"maxRetries": 1, "retryOn": ["failed"], "backoff": {"initialSeconds": 0}}
    job = submit(client, tenant_a, note, folders, retry=retry)
    assert wait_for(client, tenant_a, job["id"], FINAL)["attempt"] == 2
    listed = outputs_of(client, tenant_a, job["id"])["outputs"]
    attempts = {item["path"]: item["attempt"] for item in listed}
    assert attempts == {
        "attempt-1/m_2TESTNOTE.zpln": 1,
        "attempt-1/tried.bin": 1,
        "m_2TESTNOTE.zpln": 2,
        "tried.bin": 2,
    }
    folder = folder_files(client, tenant_a, folders[1])
    first = download(client, tenant_a, job["id"], "attempt-1/tried.bin")
    last = download(client, tenant_a, job["id"], "tried.bin")
    assert first != last and last == folder["tried.bin"]
    sha = {item["path"]: item["sha256"] for item in listed}
    assert sha["attempt-1/tried.bin"] == hashlib.sha256(first).hexdigest()


def test_a_repair_runs_the_failed_jobs_own_executed_note(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    """A re-run that failed too overwrote the executed note in the folder: the repair of
    the first job still starts from the first job's note (its paragraph 1 result kept)."""
    failed = run(client, tenant_a, job_body(client, tenant_a, STATEFUL_NOTE, folders))
    note = json.loads(download(client, tenant_a, failed["id"], "m_2TESTNOTE.zpln"))
    token = note["paragraphs"][0]["results"]["msg"][0]["data"]
    rerun = run(client, tenant_a, {}, path=f"{JOBS}/{failed['id']}/rerun")
    assert rerun["status"] == "FAILED", rerun["message"]
    in_folder = json.loads(folder_files(client, tenant_a, folders[1])["m_2TESTNOTE.zpln"])
    assert in_folder["paragraphs"][0]["results"]["msg"][0]["data"] != token

    upload_file(client, tenant_a, folders[0], "extra.txt", b"2")
    repaired = run(client, tenant_a, {}, path=f"{JOBS}/{failed['id']}/repair")
    assert repaired["status"] == "SUCCEEDED", repaired["message"]
    executed = json.loads(download(client, tenant_a, repaired["id"], "m_2TESTNOTE.zpln"))
    texts = [p["results"]["msg"][0]["data"] for p in executed["paragraphs"]]
    assert texts == [token, "sum 42\n", "after 40\n"]


def test_the_openapi_document_marks_the_outputs_as_an_extension(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    listing = document["paths"][f"{JOBS}/{{job_id}}/outputs"]["get"]
    one = document["paths"][f"{JOBS}/{{job_id}}/outputs/{{path}}"]["get"]
    for operation in (listing, one):
        assert operation["x-extension"] is True
        assert {"200", "401", "404"} <= set(operation["responses"])
    item = document["components"]["schemas"]["JobOutputPublic"]
    assert item["x-extension"] is True
    assert {"path", "sizeInBytes", "sha256", "type", "attempt"} <= set(item["required"])
    assert "*/*" in one["responses"]["200"]["content"]
