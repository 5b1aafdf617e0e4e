"""Jupyter notebooks as models, and job parameters for both kinds (issue: notebooks)."""

from __future__ import annotations

import json
import time
from typing import Any

import nbformat
from fastapi.testclient import TestClient

from tests.conftest import TenantClient
from tests.integration.jobs.api import (
    FINAL,
    JOBS,
    create_configuration,
    folder_files,
    make_folder,
    upload_file,
    upload_model,
    wait_for,
    zeppelin_note,
)


def notebook(*cells: str, parameters: str | None = None) -> bytes:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        book.cells.append(cell)
    book.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    text: str = nbformat.writes(book)
    return text.encode()


def run(
    client: TestClient,
    tenant: TenantClient,
    model: bytes,
    folders: tuple[str, str],
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "modelId": upload_model(client, tenant, model, name="nb"),
        "configurationId": create_configuration(client, tenant),
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
        "maximumExecutionTimeInSeconds": "120",
        **extra,
    }
    answer = client.post(JOBS, headers=tenant.headers, json=body)
    assert answer.status_code == 201, answer.text
    return wait_for(client, tenant, answer.json()["id"], FINAL)


def executed(client: TestClient, tenant: TenantClient, folder: str) -> nbformat.NotebookNode:
    """The executed notebook, checked valid by nbformat, without papermill's banner cells."""
    text = folder_files(client, tenant, folder)["nb.ipynb"].decode()
    book: nbformat.NotebookNode = nbformat.reads(text, as_version=4)
    nbformat.validate(book)
    book.cells = [cell for cell in book.cells if cell.cell_type == "code"]
    return book


def test_a_notebook_reads_csv_and_writes_csv_and_png(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    upload_file(client, tenant_a, folders[0], "data.csv", b"x,y\n1,2\n2,4\n3,9\n")
    model = notebook(
        "import os, pandas as pd\ndf = pd.read_csv(os.path.join(inputFolder, 'data.csv'))\n"
        "df.describe().to_csv(os.path.join(outputFolder, 'stats.csv'))\ndf.y.sum()",
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot(df.x, df.y)\nplt.savefig(os.path.join(outputFolder, 'plot.png'))",
    )
    job = run(client, tenant_a, model, folders)
    assert job["status"] == "SUCCEEDED", job["message"]
    assert job["progress"]["unit"] == "cell" and job["progress"]["total"] == 2
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["stats.csv"].startswith(b",x,y")
    assert outputs["plot.png"][:8] == b"\x89PNG\r\n\x1a\n"
    book = executed(client, tenant_a, folders[1])
    assert "15" in book.cells[0].outputs[0]["data"]["text/plain"]
    assert all(cell.metadata["papermill"]["status"] == "completed" for cell in book.cells)


def test_a_failing_cell_ends_the_job_by_default_as_papermill(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    model = notebook("raise RuntimeError('bad batch')", "open(outputFolder + '/end', 'w')")
    job = run(client, tenant_a, model, folders)
    assert job["status"] == "FAILED"
    assert "bad batch" in job["message"]
    outputs = folder_files(client, tenant_a, folders[1])
    assert "end" not in outputs
    book = nbformat.reads(outputs["nb.ipynb"].decode(), as_version=4)
    assert book.cells[0].metadata["tags"] == ["papermill-error-cell-tag"]  # the banner
    statuses = [c.metadata["papermill"]["status"] for c in book.cells if "papermill" in c.metadata]
    assert statuses == ["failed", "pending"]


def test_with_stop_on_error_false_the_rest_runs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    model = notebook("a = 1", "raise RuntimeError('bad batch')", "open(outputFolder + '/end', 'w')")
    job = run(client, tenant_a, model, folders, stopOnError=False)
    assert job["status"] == "FAILED"
    assert "bad batch" in job["message"]
    assert "end" in folder_files(client, tenant_a, folders[1])
    statuses = [
        c.metadata["papermill"]["status"] for c in executed(client, tenant_a, folders[1]).cells
    ]
    assert statuses == ["completed", "failed", "completed"]


def test_a_note_goes_on_by_default_and_stops_when_asked(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note("%python\n1 / 0", "%sh\ntouch $outputFolder/end")
    job = run(client, tenant_a, note, folders)
    assert job["status"] == "FAILED"
    assert "end" in folder_files(client, tenant_a, folders[1])
    other_output = make_folder(client, tenant_a, "stopped")
    job = run(client, tenant_a, note, (folders[0], other_output), stopOnError=True)
    assert job["status"] == "FAILED"
    outputs = folder_files(client, tenant_a, other_output)
    assert "end" not in outputs
    paragraphs = json.loads(outputs["nb_2TESTNOTE.zpln"])["paragraphs"]
    assert [p["status"] for p in paragraphs] == ["ERROR", "READY"]


def test_a_notebook_past_its_deadline_fails_and_keeps_outputs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    model = notebook(
        "open(outputFolder + '/early', 'w').write('x')", "import time\ntime.sleep(120)"
    )
    job = run(client, tenant_a, model, folders, maximumExecutionTimeInSeconds=2)
    assert job["status"] == "FAILED"
    assert "Maximum execution time of 2 seconds exceeded" in job["message"]
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["early"] == b"x"
    assert "nb.ipynb" in outputs


def test_job_parameters_reach_a_notebook_papermill_style(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    model = notebook(
        "import json\nopen(outputFolder + '/p.json', 'w').write("
        "json.dumps({'rate': rate, 'site': site, 'tags': tags, 'extra': extra}))",
        parameters="rate = 1.0\nsite = 'none'\ntags = []\nextra = None",
    )
    parameters = {"rate": 2.5, "site": "plant-7", "tags": ["a", "b"], "extra": {"k": 1}}
    job = run(client, tenant_a, model, folders, parameters=parameters)
    assert job["status"] == "SUCCEEDED", job["message"]
    assert job["parameters"] == parameters
    outputs = folder_files(client, tenant_a, folders[1])
    assert json.loads(outputs["p.json"]) == parameters
    book = executed(client, tenant_a, folders[1])
    assert "injected-parameters" in book.cells[1].metadata["tags"]


def test_job_parameters_fill_zeppelin_forms(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nopen(outputFolder + '/city.txt', 'w').write(z.textbox('city', 'Berlin'))",
        "%md\nHello ${who=world}",
    )
    job = run(client, tenant_a, note, folders, parameters={"city": "Erlangen", "who": "team"})
    assert job["status"] == "SUCCEEDED", job["message"]
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["city.txt"] == b"Erlangen"
    paragraphs = json.loads(outputs["nb_2TESTNOTE.zpln"])["paragraphs"]
    # As Zeppelin's run-all with params: they are used, and each paragraph's own come back.
    assert paragraphs[0]["settings"]["params"] == {}
    assert paragraphs[0]["settings"]["forms"]["city"]["defaultValue"] == "Berlin"
    assert "Hello team" in paragraphs[1]["results"]["msg"][0]["data"]


def test_a_notebook_job_stops_on_request_with_its_outputs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    model = notebook(
        "open(outputFolder + '/early', 'w').write('kept')",
        "import time\nfor _ in range(1200):\n    time.sleep(0.1)",
    )
    body = {
        "modelId": upload_model(client, tenant_a, model, name="nb"),
        "configurationId": create_configuration(client, tenant_a),
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
    }
    job = client.post(JOBS, headers=tenant_a.headers, json=body).json()
    wait_for(client, tenant_a, job["id"], {"RUNNING"})
    job = wait_for_cell(client, tenant_a, job["id"], 2)
    assert client.post(f"{JOBS}/{job['id']}/stop", headers=tenant_a.headers).status_code == 200
    done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "STOPPED"
    assert folder_files(client, tenant_a, folders[1])["early"] == b"kept"
    assert executed(client, tenant_a, folders[1]).cells[0].metadata["papermill"]["status"] == (
        "completed"
    )


def wait_for_cell(
    client: TestClient, tenant: TenantClient, job_id: str, cell: int
) -> dict[str, Any]:
    while True:
        job = client.get(f"{JOBS}/{job_id}", headers=tenant.headers).json()
        if (job["progress"] or {}).get("current") == cell:
            return dict(job)
        time.sleep(0.05)
