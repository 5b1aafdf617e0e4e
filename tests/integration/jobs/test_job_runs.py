"""Jobs that really run: a real service app, real kernels, outputs in Data Exchange."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from jobmanager.common.home import environments_folder, pythons_folder
from jobmanager.startup.settings import Settings
from tests.conftest import TenantClient
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


def submit(
    client: TestClient,
    tenant: TenantClient,
    note: bytes,
    folders: tuple[str, str],
    configuration: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "modelId": upload_model(client, tenant, note),
        "configurationId": configuration or create_configuration(client, tenant),
        "inputFolderId": folders[0],
        "outputFolderId": folders[1],
        "maximumExecutionTimeInSeconds": "120",
        **extra,
    }
    answer = client.post(JOBS, headers=tenant.headers, json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_job_reads_its_input_and_its_outputs_land_in_the_output_folder(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    upload_file(client, tenant_a, folders[0], "numbers.csv", b"n\n1\n2\n3\n")
    note = zeppelin_note(
        "%md\n# Sum",
        "%python\nimport pandas as pd, os\n"
        "df = pd.read_csv(os.path.join(inputFolder, 'numbers.csv'))\n"
        "open(os.path.join(outputFolder, 'total.txt'), 'w').write(str(df.n.sum()))\n"
        "print(os.environ['inputFolder'] == inputFolder, z.get('outputFolder') == outputFolder)",
        "%sh\necho shell says hi",
    )
    job = submit(client, tenant_a, note, folders)
    done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "SUCCEEDED", done["message"]
    assert done["startDate"] and done["endDate"] and done["environmentId"]
    assert done["progress"]["total"] == 3 and done["progress"]["unit"] == "paragraph"
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["total.txt"] == b"6"
    executed = json.loads(outputs["m_2TESTNOTE.zpln"])
    assert [p["status"] for p in executed["paragraphs"]] == ["FINISHED"] * 3
    texts = [m["data"] for p in executed["paragraphs"] for m in p["results"]["msg"]]
    assert "True True\n" in texts and "shell says hi\n" in texts


def test_outputs_are_stored_with_the_media_type_of_their_name(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    names = ["table.csv", "plots/chart.png", "run.log", "data.csv.gz", "model.pkl"]
    note = zeppelin_note(
        "%python\nimport os\n"
        f"for name in {names!r}:\n"
        "    os.makedirs(os.path.dirname(os.path.join(outputFolder, name)), exist_ok=True)\n"
        "    open(os.path.join(outputFolder, name), 'wb').write(b'x')"
    )
    done = wait_for(client, tenant_a, submit(client, tenant_a, note, folders)["id"], FINAL)
    assert done["status"] == "SUCCEEDED", done["message"]
    top = client.get(f"{DX}/directories/{folders[1]}", headers=tenant_a.headers).json()
    plots = next(d["id"] for d in top["directories"] if d["name"] == "plots")
    nested = client.get(f"{DX}/directories/{plots}", headers=tenant_a.headers).json()
    types = {f["name"]: f["type"] for f in [*top["files"], *nested["files"]]}
    assert types == {
        "table.csv": "text/csv",
        "chart.png": "image/png",
        "run.log": "text/plain",
        "data.csv.gz": "application/gzip",
        "model.pkl": "application/octet-stream",
        "m_2TESTNOTE.zpln": "application/json",
    }


def test_a_failing_paragraph_fails_the_job_but_the_rest_runs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nraise ValueError('broken sensor')",
        "%python\nopen(outputFolder + '/after.txt', 'w').write('ran')",
    )
    done = wait_for(client, tenant_a, submit(client, tenant_a, note, folders)["id"], FINAL)
    assert done["status"] == "FAILED"
    assert done["message"] == "Paragraph 1 of 2 failed: ValueError: broken sensor"
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["after.txt"] == b"ran"
    statuses = [p["status"] for p in json.loads(outputs["m_2TESTNOTE.zpln"])["paragraphs"]]
    assert statuses == ["ERROR", "FINISHED"]


def test_the_time_limit_fails_the_job_and_keeps_outputs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nopen(outputFolder + '/partial.txt', 'w').write('before the limit')",
        "%python\nimport time\ntime.sleep(120)",
    )
    job = submit(client, tenant_a, note, folders, maximumExecutionTimeInSeconds=2)
    done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "FAILED"
    assert "Maximum execution time of 2 seconds exceeded" in done["message"]
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["partial.txt"] == b"before the limit"
    statuses = [p["status"] for p in json.loads(outputs["m_2TESTNOTE.zpln"])["paragraphs"]]
    assert statuses == ["FINISHED", "ABORT"]


def test_stop_while_running_ends_stopped_with_outputs(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nopen(outputFolder + '/early.txt', 'w').write('kept')",
        "%python\nimport time\nfor _ in range(600):\n    time.sleep(0.1)",
    )
    job = submit(client, tenant_a, note, folders)
    running = wait_for(client, tenant_a, job["id"], {"RUNNING"})
    while (running.get("progress") or {}).get("current") != 2:
        running = client.get(f"{JOBS}/{job['id']}", headers=tenant_a.headers).json()
        time.sleep(0.05)
    answer = client.post(f"{JOBS}/{job['id']}/stop", headers=tenant_a.headers).json()
    assert answer["status"] == "STOPPING"
    done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "STOPPED"
    assert folder_files(client, tenant_a, folders[1])["early.txt"] == b"kept"
    assert (
        client.get("/api/prl/v3/environments", headers=tenant_a.headers).json()["environments"]
        == []
    )


class Release:
    """Holds notes until the test releases them: no race with the clock. A sandboxed note
    sees none of the test's files and nothing of its loopback, so the signal is a file
    `release` the test leaves in the work folder of every environment once released (of
    environments started later too, until the test ends)."""

    def __init__(self, home: Path) -> None:
        self.folder = environments_folder(home)
        self.released = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._leave, daemon=True)

    def note(self) -> bytes:
        return zeppelin_note(
            "%python\nimport os, time\nwhile not os.path.exists('release'):\n    time.sleep(0.05)"
        )

    def __call__(self) -> None:
        self.thread.start()

    def _leave(self) -> None:
        while not self.done.wait(0.05):
            for inputs in self.folder.glob("*/work/input"):
                with contextlib.suppress(OSError):  # an environment going away
                    (inputs / "release").touch()

    def __enter__(self) -> Release:
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()


def test_max_environments_queues_the_second_job(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str], settings: Settings
) -> None:
    configuration = create_configuration(client, tenant_a, maxEnvironments=1, whenBusy="queue")
    with Release(settings.home) as release:
        queue_behind_a_held_job(client, tenant_a, folders, configuration, release)


def queue_behind_a_held_job(
    client: TestClient,
    tenant_a: TenantClient,
    folders: tuple[str, str],
    configuration: str,
    release: Release,
) -> None:
    slow = release.note()
    first = submit(client, tenant_a, slow, folders, configuration)
    wait_for(client, tenant_a, first["id"], {"STARTING", "RUNNING"})
    second = submit(client, tenant_a, slow, folders, configuration)
    waiting = wait_for(client, tenant_a, second["id"], {"SUBMITTED"})
    deadline = time.monotonic() + 10
    while "Waiting for an environment" not in waiting["message"] and time.monotonic() < deadline:
        waiting = client.get(f"{JOBS}/{second['id']}", headers=tenant_a.headers).json()
        assert waiting["status"] == "SUBMITTED"
        time.sleep(0.05)
    assert "Waiting for an environment" in waiting["message"]
    environments = client.get("/api/prl/v3/environments", headers=tenant_a.headers).json()
    assert len(environments["environments"]) == 1
    release()
    assert wait_for(client, tenant_a, first["id"], FINAL)["status"] == "SUCCEEDED"
    assert wait_for(client, tenant_a, second["id"], FINAL)["status"] == "SUCCEEDED"


def test_when_busy_fail_fails_the_second_job(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str], settings: Settings
) -> None:
    configuration = create_configuration(client, tenant_a, maxEnvironments=1, whenBusy="fail")
    with Release(settings.home) as release:
        slow = release.note()
        first = submit(client, tenant_a, slow, folders, configuration)
        wait_for(client, tenant_a, first["id"], {"STARTING", "RUNNING"})
        second = submit(client, tenant_a, slow, folders, configuration)
        failed = wait_for(client, tenant_a, second["id"], FINAL)
        assert failed["status"] == "FAILED"
        assert failed["message"] == (
            "Failed to start environment "
            "[An environment has already been started for the configuration]"
        )
        release()
        assert wait_for(client, tenant_a, first["id"], FINAL)["status"] == "SUCCEEDED"


def test_a_payload_the_engine_cannot_read_fails_with_the_message_chain(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    broken = b'{"paragraphs": [{"text": 5}], "name": "x"}'
    done = wait_for(client, tenant_a, submit(client, tenant_a, broken, folders)["id"], FINAL)
    assert done["status"] == "FAILED"
    assert done["message"].startswith("Unable to import model [")


def test_an_environment_that_cannot_start_fails_the_job(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    missing = create_configuration(client, tenant_a, runtime="python3.99")
    note = zeppelin_note("%python\nprint(1)")
    job = submit(client, tenant_a, note, folders, missing)
    done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "FAILED"
    assert done["message"].startswith(
        "Failed to start environment [The runtime python3.99 is not installed on this machine"
    )
    assert (
        client.get("/api/prl/v3/environments", headers=tenant_a.headers).json()["environments"]
        == []
    )


def test_an_output_that_cannot_be_saved_fails_the_job_and_the_rest_is_saved(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    note = zeppelin_note(
        "%python\nopen(outputFolder + '/bad:name.txt', 'w').write('x')\n"
        "open(outputFolder + '/good.txt', 'w').write('y')"
    )
    done = wait_for(client, tenant_a, submit(client, tenant_a, note, folders)["id"], FINAL)
    assert done["status"] == "FAILED"
    assert "Failed to save outputs [bad:name.txt]" in done["message"]
    assert folder_files(client, tenant_a, folders[1])["good.txt"] == b"y"


def test_configuration_packages_are_installed_once_and_importable(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str], settings: Settings
) -> None:
    with_packages = create_configuration(client, tenant_a, packages=["cowsay==6.1"])
    note = zeppelin_note(
        "%python\nimport cowsay, pandas\n"
        "open(outputFolder + '/said.txt', 'w').write(cowsay.get_output_string('cow', 'moo'))"
    )
    for _ in range(2):
        job = submit(client, tenant_a, note, folders, with_packages)
        done = wait_for(client, tenant_a, job["id"], FINAL, timeout=300)
        assert done["status"] == "SUCCEEDED", done["message"]
    assert b"moo" in folder_files(client, tenant_a, folders[1])["said.txt"]
    built = [p for p in pythons_folder(settings.home).iterdir() if p.is_dir()]
    assert len(built) == 1


def test_packages_that_cannot_be_installed_fail_the_job(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    broken = create_configuration(client, tenant_a, packages=["no-such-package-jm-test==0.0.1"])
    job = submit(client, tenant_a, zeppelin_note("%python\nprint(1)"), folders, broken)
    done = wait_for(client, tenant_a, job["id"], FINAL, timeout=300)
    assert done["status"] == "FAILED"
    assert done["message"].startswith(
        "Failed to start environment [Could not install the configuration's packages"
    )


# With or without network the sandbox has a loopback of its own: nothing listens there
# (ECONNREFUSED), the host's listener is out of reach (tests/acceptance/test_hostile_network.py
# tries the rest).
@pytest.mark.parametrize("network", ["allowed", "none"])
def test_the_host_loopback_is_out_of_reach_with_or_without_network(
    client: TestClient,
    tenant_a: TenantClient,
    folders: tuple[str, str],
    network: str,
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        configuration = create_configuration(client, tenant_a, network=network)
        note = zeppelin_note(
            f"%python\nimport socket\ns = socket.socket()\ns.settimeout(3)\n"
            f"open(outputFolder + '/python', 'w').write(str(s.connect_ex(('127.0.0.1', {port}))))",
            f"%sh\n(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null\n"
            'echo -n $? > "$outputFolder/sh"',
        )
        job = submit(client, tenant_a, note, folders, configuration)
        done = wait_for(client, tenant_a, job["id"], FINAL)
    assert done["status"] == "SUCCEEDED", done["message"]
    outputs = folder_files(client, tenant_a, folders[1])
    assert outputs["python"] == b"111"
    assert outputs["sh"] == b"1"


def test_a_configuration_limits_its_environments(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    configuration = create_configuration(
        client, tenant_a, resources={"memoryMiB": 256, "maxProcesses": 64}
    )
    forks = zeppelin_note(
        "%python\nimport subprocess\n"
        "sleepers = [subprocess.Popen(['sleep', '60']) for _ in range(100)]"
    )
    job = wait_for(
        client, tenant_a, submit(client, tenant_a, forks, folders, configuration)["id"], FINAL
    )
    assert job["status"] == "FAILED"
    assert job["message"].startswith("Process limit of 64 reached during paragraph 1 of 1")
    hoard = zeppelin_note("%python\nhoard = [b'x' * (64 << 20) for _ in range(16)]")
    job = wait_for(
        client, tenant_a, submit(client, tenant_a, hoard, folders, configuration)["id"], FINAL
    )
    assert job["status"] == "FAILED"
    assert job["message"].startswith("Memory limit of 256 MiB reached"), job["message"]
