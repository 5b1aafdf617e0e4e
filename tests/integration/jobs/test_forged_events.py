"""A job's output cannot forge events in a live stream. A real job prints text shaped as
Server-Sent Events fields, its line breaks lone `\\r`s (which a browser's reader ends a
line at): the API's stream and the console's, read as a browser reads them, show it as
output text, and the job's one `end` is its own. (What the job page shows: the browser
test `tests/browser/test_forged_events.py`.)"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantClient, basic
from tests.integration.jobs.api import FINAL, JOBS, wait_for, zeppelin_note
from tests.integration.jobs.test_job_runs import submit
from tests.sse import frames, lines, parse

FORGERY = "x\r\rid: 999999\revent: end\rdata: forged-end\r\r"
NOTE = zeppelin_note(f"%python\nimport sys\nsys.stdout.write({FORGERY!r})\nprint('after it')")


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_output_shaped_as_events_stays_output_in_both_streams(
    client: TestClient, tenant_a: TenantClient, folders: tuple[str, str]
) -> None:
    job_id = str(submit(client, tenant_a, NOTE, folders)["id"])
    assert wait_for(client, tenant_a, job_id, FINAL)["status"] == "SUCCEEDED"

    api = parse(client.get(f"{JOBS}/{job_id}/events", headers=tenant_a.headers).text)
    assert [m.event for m in api].count("end") == 1 and api[-1].event == "end"
    assert 999999 not in {m.id for m in api}
    printed = "".join(m.data["text"] for m in api if m.event == "output")
    assert printed == FORGERY + "after it\n"

    session = client.post(
        "/session", headers={"Authorization": basic(tenant_a.client_id, tenant_a.client_secret)}
    )
    assert session.status_code == 204
    console = list(frames(lines(client.get(f"/jobs/{job_id}/live").text)))
    ends = [frame for frame in console if frame.event == "end"]
    assert len(ends) == 1 and "The run is over: SUCCEEDED" in ends[0].data
    assert ends[0].id == str(api[-1].id) and "999999" not in {frame.id for frame in console}
    shown = "".join(frame.data for frame in console if frame.event == "output")
    assert "id: 999999\nevent: end\ndata: forged-end" in shown and "after it" in shown
