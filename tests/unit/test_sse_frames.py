"""A Server-Sent Events message carries any text: every line break in its data — `\\r\\n`,
`\\n`, a lone `\\r` — goes on a `data:` line of its own, so a reader (here, one written
from the format's definition) sees one message with the text, never a field of it."""

from __future__ import annotations

import pytest

from jobmanager.api.event_stream import sse_frame
from tests.sse import frames, lines

FORGERY = "x\r\rid: 999999\revent: end\rdata: forged-end\r\r"


@pytest.mark.parametrize(
    "text",
    [
        FORGERY,
        FORGERY.replace("\r", "\n"),
        FORGERY.replace("\r", "\r\n"),
        "a\r\nb\nc\rd",
        "\n\n\n",
        "",
        "plain",
    ],
)
def test_a_message_reads_back_as_one_whatever_its_line_breaks(text: str) -> None:
    written = sse_frame("output", text, 7) + sse_frame("end", "over", 8)
    only, end = frames(lines(written))
    assert (only.id, only.event) == ("7", "output")
    assert only.data == text.replace("\r\n", "\n").replace("\r", "\n")
    assert (end.id, end.event, end.data) == ("8", "end", "over")


def test_the_forged_end_stays_text_in_the_output() -> None:
    stream = sse_frame("output", FORGERY, 3) + sse_frame("end", "The run is over", 4)
    read = list(frames(lines(stream)))
    assert [(f.id, f.event) for f in read] == [("3", "output"), ("4", "end")]
    assert "event: end" in read[0].data and "id: 999999" in read[0].data
