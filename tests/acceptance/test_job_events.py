"""A job's live events from a real `jobmanager serve`: output read while the paragraph
still prints, a reconnect in the middle, and `jobmanager jobs logs`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.acceptance.api import FINAL, JOBS, Caller, note
from tests.acceptance.cli_runner import Cli, module_server
from tests.acceptance.server import ServerProcess
from tests.sse import Message, messages

server = module_server()

# Eight seconds of ticks: a stream broken at tick 5 finds the job still running, even
# when a loaded machine delivers the first ticks late.
PRINT_LOOP = note(
    "%python\nimport time\nfor i in range(40):\n    print('tick', i, flush=True)\n"
    "    time.sleep(0.2)",
    "%python\nimport sys\nprint('to stderr', file=sys.stderr)\nprint('to stdout')\n"
    "raise ValueError('last paragraph fails')",
)
TICKS = "".join(f"tick {i}\n" for i in range(40))


@pytest.fixture
def caller(server: ServerProcess, caller_of: Callable[[ServerProcess], Caller]) -> Caller:
    return caller_of(server)


def submit(caller: Caller, payload: bytes) -> str:
    output = caller.folder(f"out-{uuid.uuid4().hex[:8]}")
    return caller.submit(caller.model(payload), caller.configuration(), output)


def stream(caller: Caller, job_id: str, after: int | None = None) -> Iterator[Message]:
    """The job's events as they arrive; the connection closes when the caller stops."""
    headers = {} if after is None else {"Last-Event-ID": str(after)}
    with caller.http.stream("GET", f"{JOBS}/{job_id}/events", headers=headers) as answer:
        assert answer.status_code == 200, answer.read()
        yield from messages(answer.iter_lines())


def stdout_of(events: list[Message], index: int = 1) -> str:
    return "".join(
        e.data["text"]
        for e in events
        if e.event == "output" and e.data["stream"] == "stdout" and e.data["index"] == index
    )


def test_output_arrives_while_the_paragraph_is_still_printing(caller: Caller) -> None:
    job_id = submit(caller, PRINT_LOOP)
    arrivals: list[tuple[float, Message]] = []
    for message in stream(caller, job_id):
        arrivals.append((time.monotonic(), message))
    events = [m for _, m in arrivals]
    first_tick = next(
        at for at, m in arrivals if m.event == "output" and "tick 0" in m.data["text"]
    )
    paragraph_end = next(at for at, m in arrivals if m.event == "finished")
    assert paragraph_end - first_tick > 2.5  # the loop prints for 4 s: it came while it ran
    outputs = [m for m in events if m.event == "output" and m.data["index"] == 1]
    assert len(outputs) >= 10  # several batches while it ran, not one at the end
    assert stdout_of(events) == TICKS
    assert [m.id for m in events] == list(range(1, len(events) + 1))
    assert events[-1].event == "end" and events[-1].data["status"] == "FAILED"
    assert caller.job(job_id)["status"] == "FAILED"


def test_a_reconnect_in_the_middle_loses_and_repeats_nothing(caller: Caller) -> None:
    job_id = submit(caller, PRINT_LOOP)
    first: list[Message] = []
    for message in stream(caller, job_id):
        first.append(message)
        if message.event == "output" and "tick 5" in message.data["text"]:
            break  # the connection closes here, in the middle of the paragraph
    assert caller.job(job_id)["status"] not in FINAL
    last_id = first[-1].id
    assert last_id is not None
    rest = list(stream(caller, job_id, after=last_id))
    events = first + rest
    assert [m.id for m in events] == list(range(1, len(events) + 1))
    assert stdout_of(events) == TICKS
    assert rest[-1].event == "end"


def test_followers_that_come_and_go_change_nothing_for_the_job(caller: Caller) -> None:
    """Many followers that come and go: the job ends as usual, the server still answers."""
    job_id = submit(caller, PRINT_LOOP)
    for _ in range(20):
        with caller.http.stream("GET", f"{JOBS}/{job_id}/events") as answer:
            next(answer.iter_lines())
    job = caller.wait(job_id, lambda j: j["status"] in FINAL, timeout=120)
    assert job["status"] == "FAILED"
    assert caller.http.get("/health").status_code == 200


def test_jobs_logs_prints_stdout_and_stderr_apart(
    caller: Caller, server: ServerProcess, tmp_path: Path
) -> None:
    job_id = submit(caller, PRINT_LOOP)
    cli = Cli.for_server(tmp_path, server)
    followed = cli("jobs", "logs", job_id, "-f")
    assert followed.code == 1, followed.stdout + followed.stderr  # the job failed
    assert followed.stdout == TICKS + "to stdout\n"
    assert "to stderr\n" in followed.stderr
    assert "ValueError: last paragraph fails" in followed.stderr
    assert "── paragraph 2 of 2" in followed.stderr
    assert "── paragraph 2 of 2 ERROR: ValueError: last paragraph fails" in followed.stderr
    assert "job FAILED: Paragraph 2 of 2 failed" in followed.stderr.strip().splitlines()[-1]
    again = cli("jobs", "logs", job_id)  # an ended job: the same, then exit 0
    assert again.code == 0 and again.stdout == followed.stdout
    cli("jobs", "logs", "no-such-job").assert_one_line_error("not found")
