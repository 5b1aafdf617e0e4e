"""A job's events as HTML for htmx's SSE extension: the job page follows its job with them.

The stream is the API's (`api/event_stream.py`: replay, then follow through the shared
feed until the `end` event); only the messages differ. Each keeps its sequence number as
its `id`, so a reconnecting page resumes where it was:
- `paragraph` (a paragraph or cell started): the running block, its title and an empty
  output pane, which replaces the previous one;
- `output`: the text, appended to that pane;
- `status`: a nudge, on which the page fetches its summary (timeline, message, Stop);
- `end`: the last message, saying so; the page closes the stream and fetches its
  summary and outputs.
Other kinds carry no data: the browser only notes their `id`. A job's output is the
tenant's text: every line break in it, a lone `\r` too, is written the SSE way
(`sse_frame`), so no output can end a message or forge one.
"""

from __future__ import annotations

from html import escape

from jobmanager.api.event_stream import sse_frame
from jobmanager.console.routing import templates
from jobmanager.domain.events import EventKind
from jobmanager.store.events import EventRecord
from jobmanager.store.jobs import JobRecord


class HtmlEvents:
    """The console's format of the event stream (see the module's docstring)."""

    def event(self, event: EventRecord) -> str:
        data = event.payload
        if event.kind is EventKind.STARTED:
            html = templates.get_template("running.html").render(step=data)
            return sse_frame("paragraph", html, event.seq)
        if event.kind is EventKind.OUTPUT:
            stream = escape(str(data.get("stream", "stdout")))
            return sse_frame(
                "output", f'<span class="{stream}">{escape(data["text"])}</span>', event.seq
            )
        if event.kind is EventKind.TRUNCATED:
            note = f"[output beyond {data.get('limitBytes')} bytes is not kept]"
            return sse_frame("output", f'<span class="note">{escape(note)}</span>', event.seq)
        if event.kind is EventKind.STATUS:
            return sse_frame("status", escape(str(data.get("status", ""))), event.seq)
        if event.kind is EventKind.END:
            return sse_frame("end", ended(str(data.get("status", ""))), event.seq)
        return sse_frame("other", "", event.seq)

    def final(self, job: JobRecord | None) -> str:
        return sse_frame("end", ended(job.status.value if job else "DELETED"))


def ended(status: str) -> str:
    return escape(f"The run is over: {status}. The outputs are below.")
