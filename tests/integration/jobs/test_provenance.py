"""Provenance, re-runs and repairs through HTTP, with real kernels, on both databases."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import nbformat
from fastapi.testclient import TestClient

from tests.conftest import TenantClient, assert_error
from tests.integration.jobs.api import (
    DX,
    FINAL,
    JOBS,
    create_configuration,
    folder_files,
    upload_file,
    upload_model,
    wait_for,
    zeppelin_note,
)

MODELS = "/api/modelmanagement/v3/models"
# Paragraph 1 sets the kernel's state and prints a token of its run; paragraph 2 needs
# an input file that is missing on the first run.
STATEFUL_NOTE = zeppelin_note(
    "%python\nimport uuid\nbase = 40\nprint('token', uuid.uuid4().hex)",
    "%python\nimport os\nextra = int(open(os.path.join(inputFolder, 'extra.txt')).read())\n"
    "print('sum', base + extra)",
    "%python\nprint('after', base)",
)


def run(
    client: TestClient, tenant: TenantClient, body: dict[str, Any], path: str = JOBS
) -> dict[str, Any]:
    answer = client.post(path, headers=tenant.headers, json=body)
    assert answer.status_code == 201, answer.text
    return wait_for(client, tenant, answer.json()["id"], FINAL, timeout=120)


def job_body(
    client: TestClient, tenant: TenantClient, model: bytes, folders: tuple[str, str]
) -> dict[str, Any]:
    return {
        "modelId": upload_model(client, tenant, model),
        "configurationId": create_configuration(client, tenant),
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
    }


def provenance(client: TestClient, tenant: TenantClient, job_id: str) -> dict[str, Any]:
    answer = client.get(f"{JOBS}/{job_id}/provenance", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def replace_file(
    client: TestClient, tenant: TenantClient, folder: str, name: str, data: bytes
) -> None:
    listing = client.get(f"{DX}/directories/{folder}", headers=tenant.headers).json()
    (file_id,) = [f["id"] for f in listing["files"] if f["name"] == name]
    answer = client.put(
        f"{DX}/files/{file_id}",
        headers=tenant.headers,
        files={"file": (name, data, "application/octet-stream")},
    )
    assert answer.status_code in (200, 201, 204), answer.text


def test_a_job_records_what_it_ran_on(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    upload_file(client, tenant_a, folders[0], "data.csv", b"a,b\n1,2\n")
    body = job_body(client, tenant_a, zeppelin_note("%python\nprint(z.input('size'))"), folders)
    done = run(client, tenant_a, {**body, "parameters": {"size": 3}})
    assert done["status"] == "SUCCEEDED", done["message"]
    record = provenance(client, tenant_a, done["id"])
    assert record["jobId"] == done["id"]
    assert record["modelVersionId"] == done["modelVersionId"]
    assert record["inputs"] == {"data.csv": hashlib.sha256(b"a,b\n1,2\n").hexdigest()}
    assert record["parameters"] == {"size": 3}
    assert record["configuration"]["id"] == body["configurationId"]
    assert record["configuration"]["name"] == "conf"
    packages = record["environment"]["packages"]
    assert any(p.startswith("ipykernel==") for p in packages), packages
    assert record["failedStep"] is None and record["rerunOf"] is None
    executed = json.loads(folder_files(client, tenant_a, folders[1])[record["executedNote"]])
    assert executed["info"]["jobmanager"] == {"jobId": done["id"]}


def test_provenance_of_a_job_that_never_ran_is_a_conflict(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient, folders: tuple[str, str]
) -> None:
    body = job_body(client, tenant_a, zeppelin_note("%python\nprint(1)"), folders)
    busy = client.post(
        JOBS,
        headers=tenant_a.headers,
        json={**body, "modelId": upload_model(client, tenant_a, zeppelin_note("%sh\nsleep 60"))},
    ).json()
    wait_for(client, tenant_a, busy["id"], {"RUNNING"})
    waiting = client.post(JOBS, headers=tenant_a.headers, json=body).json()
    client.post(f"{JOBS}/{waiting['id']}/stop", headers=tenant_a.headers)
    client.post(f"{JOBS}/{busy['id']}/stop", headers=tenant_a.headers)
    error = assert_error(
        client.get(f"{JOBS}/{waiting['id']}/provenance", headers=tenant_a.headers), 409
    )
    assert waiting["id"] in error["message"]
    assert_error(client.post(f"{JOBS}/{waiting['id']}/rerun", headers=tenant_a.headers), 409)
    assert_error(client.get(f"{JOBS}/{busy['id']}/provenance", headers=tenant_b.headers), 404)
    assert_error(client.post(f"{JOBS}/{busy['id']}/rerun", headers=tenant_b.headers), 404)


def test_a_rerun_runs_the_same_version_and_warns_of_changed_input(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    upload_file(client, tenant_a, folders[0], "a.txt", b"one")
    upload_file(client, tenant_a, folders[0], "b.txt", b"same")
    body = job_body(
        client, tenant_a, zeppelin_note("%python\nprint('v1', z.input('greeting'))"), folders
    )
    first = run(client, tenant_a, {**body, "parameters": {"greeting": "hi"}})
    assert first["status"] == "SUCCEEDED", first["message"]
    # A newer version and a changed input file since.
    newer = zeppelin_note("%python\nprint('v2')")
    answer = client.post(
        f"{MODELS}/{body['modelId']}/versions",
        headers=tenant_a.headers,
        files={
            "file": ("note.zpln", newer, "application/json"),
            "metadata": (None, "{}", "application/json"),
        },
    )
    assert answer.status_code == 201, answer.text
    replace_file(client, tenant_a, folders[0], "a.txt", b"two")

    again = run(client, tenant_a, {}, path=f"{JOBS}/{first['id']}/rerun")
    assert again["status"] == "SUCCEEDED", again["message"]
    assert again["rerunOf"] == first["id"] and again["repairOf"] is None
    assert again["modelVersionId"] == first["modelVersionId"]
    assert again["parameters"] == {"greeting": "hi"}
    assert "Warning: the input differs" in again["message"]
    assert "a.txt (changed)" in again["message"] and "b.txt" not in again["message"]
    assert provenance(client, tenant_a, again["id"])["rerunOf"] == first["id"]

    overridden = run(
        client, tenant_a, {"parameters": {"greeting": "yo"}}, path=f"{JOBS}/{first['id']}/rerun"
    )
    assert overridden["parameters"] == {"greeting": "yo"}
    listed = client.get(
        JOBS, headers=tenant_a.headers, params={"filter": json.dumps({"rerunOf": first["id"]})}
    ).json()
    assert {j["id"] for j in listed["jobs"]} == {again["id"], overridden["id"]}


def test_a_repair_replays_the_paragraphs_before_the_failed_one(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    failed = run(client, tenant_a, job_body(client, tenant_a, STATEFUL_NOTE, folders))
    assert failed["status"] == "FAILED", failed["message"]
    assert provenance(client, tenant_a, failed["id"])["failedStep"] == 2
    first_note = json.loads(folder_files(client, tenant_a, folders[1])["m_2TESTNOTE.zpln"])
    token = first_note["paragraphs"][0]["results"]["msg"][0]["data"]
    assert token.startswith("token ")

    upload_file(client, tenant_a, folders[0], "extra.txt", b"2")
    repaired = run(client, tenant_a, {}, path=f"{JOBS}/{failed['id']}/repair")
    assert repaired["status"] == "SUCCEEDED", repaired["message"]
    assert repaired["repairOf"] == failed["id"]
    assert "paragraph 1 replayed" in repaired["message"]
    assert provenance(client, tenant_a, repaired["id"])["replayed"] == [1]
    executed = json.loads(folder_files(client, tenant_a, folders[1])["m_2TESTNOTE.zpln"])
    texts = [p["results"]["msg"][0]["data"] for p in executed["paragraphs"]]
    assert texts == [token, "sum 42\n", "after 40\n"]  # paragraph 1's result is the first run's
    assert [p["status"] for p in executed["paragraphs"]] == ["FINISHED"] * 3
    assert executed["info"]["jobmanager"] == {"jobId": repaired["id"]}

    error = assert_error(
        client.post(f"{JOBS}/{repaired['id']}/repair", headers=tenant_a.headers), 409
    )
    assert "SUCCEEDED" in error["message"]


def test_a_notebook_repair_keeps_the_replayed_cells_outputs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import uuid\nbase = 40\nprint(uuid.uuid4().hex)"),
        nbformat.v4.new_markdown_cell("# then"),
        nbformat.v4.new_code_cell(
            "import os\nprint(base + int(open(os.path.join(inputFolder, 'extra.txt')).read()))"
        ),
    ]
    payload = nbformat.writes(nb).encode()
    failed = run(client, tenant_a, job_body(client, tenant_a, payload, folders))
    assert failed["status"] == "FAILED", failed["message"]
    (name,) = [n for n in folder_files(client, tenant_a, folders[1]) if n.endswith(".ipynb")]
    before = nbformat.reads(folder_files(client, tenant_a, folders[1])[name], 4)
    token = next(c for c in before.cells if c.cell_type == "code")
    upload_file(client, tenant_a, folders[0], "extra.txt", b"2")

    repaired = run(client, tenant_a, {}, path=f"{JOBS}/{failed['id']}/repair")
    assert repaired["status"] == "SUCCEEDED", repaired["message"]
    assert "cell 1 replayed" in repaired["message"]
    executed = nbformat.reads(folder_files(client, tenant_a, folders[1])[name], 4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code[0].outputs == token.outputs and code[0].outputs
    assert code[1].outputs[0]["text"] == "42\n"
    assert executed.metadata["jobmanager"] == {"jobId": repaired["id"]}
    assert not any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in executed.cells)


def test_only_a_failed_or_stopped_job_is_repaired(
    client: TestClient, tenant_a: TenantClient, tenant_b: TenantClient, folders: tuple[str, str]
) -> None:
    done = run(client, tenant_a, job_body(client, tenant_a, zeppelin_note("%python\n1"), folders))
    assert_error(client.post(f"{JOBS}/{done['id']}/repair", headers=tenant_a.headers), 409)
    assert_error(client.post(f"{JOBS}/{done['id']}/repair", headers=tenant_b.headers), 404)
    assert_error(client.post(f"{JOBS}/nope/repair", headers=tenant_a.headers), 404)
