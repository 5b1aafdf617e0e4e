"""The notebooks and notes of tests/fixtures through the service (issue 26): what Model
Management takes and says about them, what `POST /jobs` refuses, how their jobs end.

Upload refuses only what claims to be a notebook (detected as jupyter) and that nbformat
cannot read or whose structure its schema refuses; anything else is stored (SPEC §2),
the official client's template included. A notebook in another language than Python is
stored too (it is a valid model) but refused by `POST /jobs`, which is where it matters.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import nbformat
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jobmanager.cli.run_note import app as run_note
from jobmanager.startup.services import Services
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient, assert_error
from tests.integration.api.test_models import BASE, create_model, stored_blobs
from tests.integration.jobs.api import (
    FINAL,
    JOBS,
    create_configuration,
    folder_files,
    upload_model,
    wait_for,
)

pytestmark = pytest.mark.timeout(120)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NO_KERNEL = (
    "The notebook names no kernel (metadata.kernelspec.name): jobs run it on their "
    "configuration's Python, as papermill runs it with -k python3"
)


def fixture(name: str) -> bytes:
    kind = "jupyter" if name.endswith(".ipynb") else "zeppelin"
    return (FIXTURES / kind / name).read_bytes()


def submit(
    client: TestClient, tenant: TenantClient, model_id: str, folders: tuple[str, str], **extra: Any
) -> Any:
    body = {
        "modelId": model_id,
        "configurationId": create_configuration(client, tenant),
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
        **extra,
    }
    return client.post(JOBS, headers=tenant.headers, json=body)


def run_job(
    client: TestClient, tenant: TenantClient, payload: bytes, folders: tuple[str, str], **extra: Any
) -> dict[str, Any]:
    answer = submit(client, tenant, upload_model(client, tenant, payload, "nb"), folders, **extra)
    assert answer.status_code == 201, answer.text
    return wait_for(client, tenant, answer.json()["id"], FINAL)


def executed_notebook(client: TestClient, tenant: TenantClient, folder: str) -> Any:
    text = folder_files(client, tenant, folder)["nb.ipynb"].decode()
    return nbformat.reads(text, as_version=nbformat.NO_CONVERT)


def test_a_malformed_notebook_is_refused_at_upload_naming_what_is_wrong(
    client: TestClient, tenant_a: TenantClient, settings: Settings
) -> None:
    """A notebook whose `metadata` is a list (item 13): 400 naming it, nothing stored, for
    a new model and for a new version; the official client's template still uploads."""
    broken = fixture("metadata-list.ipynb")
    said = (
        "file: not a valid Jupyter notebook: metadata: ['kernelspec', 'language_info'] is "
        "not of type 'object'"
    )
    files = {
        "file": ("nb.ipynb", broken, "application/json"),
        "metadata": (None, '{"name": "nb", "lastVersion": {}}', "application/json"),
    }
    answer = client.post(f"{BASE}/models", headers=tenant_a.headers, files=files)
    assert assert_error(answer, 400)["message"] == said
    template = create_model(client, tenant_a)  # {"empty": "model"}
    assert template["lastVersion"]["payloadKind"] == "other"
    before = stored_blobs(settings)
    url = f"{BASE}/models/{template['id']}/versions"
    files["metadata"] = (None, "{}", "application/json")
    answer = client.post(url, headers=tenant_a.headers, files=files)
    assert assert_error(answer, 400)["message"] == said
    assert stored_blobs(settings) == before
    versions = client.get(url, headers=tenant_a.headers).json()["versions"]
    assert [v["number"] for v in versions] == [1]


def test_a_stored_malformed_notebook_fails_its_job_in_words_not_python_internals(
    client: TestClient, tenant_a: TenantClient, services: Services, folders: tuple[str, str]
) -> None:
    """A version stored before upload checked notebooks: its job says what is wrong with
    the notebook, never an exception's own text ("pop expected at most 1 argument")."""
    model_id = upload_model(client, tenant_a, fixture("nan-parameters.ipynb"), "nb")
    tenant_id = services.store.tenants.get_by_name(tenant_a.name).id
    version = services.store.models.get_version(tenant_id, model_id, None)
    services.store.blobs.write(version.payload_key, [fixture("metadata-list.ipynb")])
    answer = submit(client, tenant_a, model_id, folders)
    job = wait_for(client, tenant_a, answer.json()["id"], FINAL)
    assert job["status"] == "FAILED"
    assert job["message"] == (
        "Unable to import model [Not a valid Jupyter notebook: metadata: ['kernelspec', "
        "'language_info'] is not of type 'object']"
    )


@pytest.mark.parametrize(
    ("name", "kernel", "language"), [("r.ipynb", "ir", "R"), ("julia.ipynb", "julia-1.10", "julia")]
)
def test_another_languages_notebook_is_stored_but_no_job_runs_it(
    client: TestClient,
    tenant_a: TenantClient,
    folders: tuple[str, str],
    name: str,
    kernel: str,
    language: str,
) -> None:
    """papermill refuses it (no such kernel); `POST /jobs` answers 400 naming the kernel
    and what this installation runs, and makes no job (item 12)."""
    model_id = upload_model(client, tenant_a, fixture(name), "nb")
    version = client.get(f"{BASE}/models/{model_id}", headers=tenant_a.headers).json()
    assert version["lastVersion"]["payloadKind"] == "jupyter"
    answer = submit(client, tenant_a, model_id, folders)
    assert assert_error(answer, 400)["message"] == (
        f"modelId: model {model_id!r} is not runnable: the notebook's kernel {kernel!r} "
        f"({language}) is not Python: this installation runs Jupyter notebooks in Python "
        "only (their kernel is the configuration's Python 3 runtime) and Zeppelin notes"
    )
    assert client.get(JOBS, headers=tenant_a.headers).json()["jobs"] == []


def test_an_nbformat_3_notebook_is_a_notebook_and_its_job_runs_it_upgraded(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    """As papermill reads it, upgraded to nbformat 4 (item 8); it names no kernel, so it
    runs on the configuration's Python, which its version says (item 7)."""
    model = create_model(client, tenant_a, fixture("ipython2-v3.ipynb"), name="nb")
    assert model["lastVersion"]["payloadKind"] == "jupyter"
    assert model["lastVersion"]["payloadWarnings"] == [NO_KERNEL]
    answer = submit(client, tenant_a, model["id"], folders)
    job = wait_for(client, tenant_a, answer.json()["id"], FINAL)
    assert job["status"] == "SUCCEEDED", job["message"]
    book = executed_notebook(client, tenant_a, folders[1])
    assert (book["nbformat"], book["nbformat_minor"]) == (4, 5)
    assert book["cells"][0]["source"] == "# An IPython 2 notebook"
    assert book["cells"][2]["outputs"][0]["text"] == "[0, 1, 4, 9, 16]\n"


def test_a_kernelspec_without_name_is_taken_with_a_warning_and_runs_on_python(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    """papermill refuses it without `-k`; here the configuration's Python is that kernel,
    said on the version and written into the executed notebook (item 7)."""
    model = create_model(client, tenant_a, fixture("no-kernel-name.ipynb"), name="nb")
    assert model["lastVersion"]["payloadWarnings"] == [NO_KERNEL]
    answer = submit(client, tenant_a, model["id"], folders)
    job = wait_for(client, tenant_a, answer.json()["id"], FINAL)
    assert job["status"] == "SUCCEEDED", job["message"]
    book = executed_notebook(client, tenant_a, folders[1])
    assert book["metadata"]["kernelspec"]["name"] == "python3"
    assert book["cells"][1]["outputs"][0]["text"] == "3\n"


def test_a_newer_nbformat_minor_version_is_taken_with_a_warning_and_runs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    """nbformat reads 4.99 with what it does not know allowed, and papermill runs it; the
    fields nbformat 4.5 does not know become a warning on the version (item 11)."""
    model = create_model(client, tenant_a, fixture("future-minor.ipynb"), name="nb")
    assert model["lastVersion"]["payloadWarnings"] == [
        "nbformat 4.99 is newer than this service reads (4.5): what it does not know was not "
        "checked (cells/0: Additional properties are not allowed "
        "('collapsed_in_a_future_way' was unexpected))"
    ]
    answer = submit(client, tenant_a, model["id"], folders)
    job = wait_for(client, tenant_a, answer.json()["id"], FINAL)
    assert job["status"] == "SUCCEEDED", job["message"]
    assert executed_notebook(client, tenant_a, folders[1])["cells"][0]["outputs"][0]["text"] == (
        "42\n"
    )


def test_nan_and_infinities_reach_the_notebook_as_papermill_injects_them(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    """The JSON body may carry NaN and infinities as Python's `json` writes them or in
    MongoDB Extended JSON's `{"$numberDouble": ...}`; answers use the second, which every
    JSON parser reads (the official client's `JSON.parse` reads no `NaN`); the injected
    cell is papermill's `PythonTranslator.codify` byte for byte (item 9)."""
    translators = pytest.importorskip("papermill.translators")
    model_id = upload_model(client, tenant_a, fixture("nan-parameters.ipynb"), "nb")
    body = {
        "modelId": model_id,
        "configurationId": create_configuration(client, tenant_a),
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
        "parameters": {
            "threshold": math.nan,
            "ceiling": math.inf,
            "floor": {"$numberDouble": "-Infinity"},
        },
    }
    headers = {**tenant_a.headers, "Content-Type": "application/json"}
    answer = client.post(JOBS, headers=headers, content=json.dumps(body))
    assert answer.status_code == 201, answer.text
    strict = json.loads(answer.text, parse_constant=lambda token: pytest.fail(token))
    assert strict["parameters"] == {
        "threshold": {"$numberDouble": "NaN"},
        "ceiling": {"$numberDouble": "Infinity"},
        "floor": {"$numberDouble": "-Infinity"},
    }
    job = wait_for(client, tenant_a, strict["id"], FINAL)
    assert job["status"] == "SUCCEEDED", job["message"]
    book = executed_notebook(client, tenant_a, folders[1])
    expected = {"threshold": math.nan, "ceiling": math.inf, "floor": -math.inf}
    assert book["cells"][1]["source"] == translators.PythonTranslator.codify(expected)
    assert book["cells"][2]["outputs"][0]["text"] == "True inf -inf\n"


def test_a_raises_exception_cell_fails_the_job_at_its_end_naming_that_cell(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    """nbclient runs on past a cell tagged `raises-exception`; papermill then fails the
    run naming it, with its banner (item 10)."""
    job = run_job(client, tenant_a, fixture("raises-exception.ipynb"), folders)
    assert job["status"] == "FAILED"
    assert job["message"] == "Cell 2 of 3 failed: ValueError: a documented failure"
    book = executed_notebook(client, tenant_a, folders[1])
    assert book.cells[0].metadata["tags"] == ["papermill-error-cell-tag"]
    assert book.cells[2].metadata["tags"] == ["papermill-error-cell-tag"]  # the anchor
    assert book.cells[-1].outputs[0]["text"] == "after\n"


def test_run_note_and_a_job_name_the_executed_note_alike(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str], tmp_path: Path
) -> None:
    """A note before Zeppelin 0.9 in a `.zpln` comes back as `{name}_{id}.zpln`, the name
    Zeppelin 0.9+ reads a note's id from (`NotebookRepo.getNoteId`), from a job (named by
    the model) and from `run-note` (named by the file) alike (item 6)."""
    note = tmp_path / "drill-note.zpln"
    note.write_bytes(fixture("drill-note.zpln"))
    out = tmp_path / "out"
    ran = CliRunner().invoke(run_note, [str(note), "--output", str(out)])
    assert ran.exit_code == 0, ran.output
    assert sorted(p.name for p in out.iterdir()) == ["drill-note_2C3XZQ8KT.zpln"]
    model_id = upload_model(client, tenant_a, note.read_bytes(), "drill-note")
    answer = submit(client, tenant_a, model_id, folders)
    job = wait_for(client, tenant_a, answer.json()["id"], FINAL)
    assert job["status"] == "SUCCEEDED", job["message"]
    outputs = folder_files(client, tenant_a, folders[1])
    assert sorted(outputs) == ["drill-note_2C3XZQ8KT.zpln"]
    executed = json.loads(outputs["drill-note_2C3XZQ8KT.zpln"])
    assert executed["paragraphs"][0]["results"]["msg"] == [{"type": "TEXT", "data": "drill\n"}]
