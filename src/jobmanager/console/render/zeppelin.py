"""An executed Zeppelin note as Zeppelin shows it: paragraph by paragraph, code and results.

Each paragraph shows its number, title, status and how long it took; its code folds
away (folded where the note hides the editor, as `%md` paragraphs do); its results by
type: TEXT as text, HTML in a sandboxed frame, TABLE as a sortable table, IMG and SVG as
images, ANGULAR and the rest as text. A failed paragraph's error message is shown.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from datetime import datetime
from typing import Any

from jobmanager.console.render.markup import counted, notice, sandboxed_frame, text
from jobmanager.console.render.tables import zeppelin_table

_STATUSES = ("UNKNOWN", "READY", "PENDING", "RUNNING", "FINISHED", "ERROR", "ABORT")
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
_IMAGE_SIGNATURES = {"iVBOR": "image/png", "/9j/": "image/jpeg", "R0lGOD": "image/gif"}


def render_zeppelin_note(note_json: bytes) -> str:
    """The note's paragraphs as an HTML fragment; a notice when the file is no note."""
    try:
        note = json.loads(note_json)
    except ValueError:
        return notice("This file is not a Zeppelin note: it is not JSON.")
    if not isinstance(note, dict) or not isinstance(note.get("paragraphs"), list):
        return notice("This file is not a Zeppelin note: it has no list of paragraphs.")
    paragraphs = [p for p in note["paragraphs"] if isinstance(p, dict)]
    sections = "".join(_paragraph(i, p) for i, p in enumerate(paragraphs, start=1))
    return (
        f'<article class="zeppelin-note">'
        f'<header class="note-head"><h2 class="note-name">{text(_str(note.get("name")))}</h2>'
        f'<p class="note-summary">{text(_summary(paragraphs))}</p></header>'
        f"{sections}</article>"
    )


def _summary(paragraphs: list[dict[str, Any]]) -> str:
    counts = Counter(_status(p).lower() for p in paragraphs)
    parts = ", ".join(f"{n} {status}" for status, n in counts.items())
    return counted(len(paragraphs), "paragraph") + (f": {parts}" if parts else "")


def _paragraph(index: int, paragraph: dict[str, Any]) -> str:
    status = _status(paragraph)
    config = paragraph.get("config")
    config = config if isinstance(config, dict) else {}
    title = _str(paragraph.get("title"))
    heading_id = f"paragraph-{index}-heading"
    took = _took(paragraph)
    head = (
        f'<header class="paragraph-head"><h3 class="paragraph-title" id="{heading_id}">'
        f'<span class="paragraph-number">{index}</span> {text(title)}</h3>'
        f'<span class="paragraph-status status-{status.lower()}">{status}</span>'
        + (f'<span class="paragraph-took">{text(took)}</span>' if took else "")
        + "</header>"
    )
    body = (
        _code(_str(paragraph.get("text")), folded=config.get("editorHide") is True)
        + _results(index, paragraph.get("results"), folded=config.get("tableHide") is True)
        + _error(_str(paragraph.get("errorMessage")))
    )
    return (
        f'<section class="paragraph paragraph-{status.lower()}" id="paragraph-{index}" '
        f'aria-labelledby="{heading_id}">{head}{body}</section>'
    )


def _status(paragraph: dict[str, Any]) -> str:
    status = paragraph.get("status")
    return status if status in _STATUSES else "UNKNOWN"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _took(paragraph: dict[str, Any]) -> str:
    """Zeppelin's "Took ..." from the paragraph's start and end, when it has both."""
    try:
        started = datetime.strptime(_str(paragraph.get("dateStarted")), _DATE_FORMAT)
        finished = datetime.strptime(_str(paragraph.get("dateFinished")), _DATE_FORMAT)
    except ValueError:
        return ""
    seconds = (finished - started).total_seconds()
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"Took {seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"Took {minutes} min {rest} s"


def _code(code: str, folded: bool) -> str:
    if not code.strip():
        return ""
    is_open = "" if folded else " open"
    return (
        f'<details class="paragraph-code"{is_open}><summary>Code</summary>'
        f"<pre><code>{text(code)}</code></pre></details>"
    )


def _results(index: int, results: Any, folded: bool) -> str:
    if not isinstance(results, dict) or not isinstance(results.get("msg"), list):
        return ""
    messages = [m for m in results["msg"] if isinstance(m, dict)]
    shown = "".join(_message(index, _str(m.get("type")), _str(m.get("data"))) for m in messages)
    if not shown:
        return ""
    failed = " results-error" if results.get("code") == "ERROR" else ""
    block = f'<div class="paragraph-results{failed}">{shown}</div>'
    if folded:
        return (
            f'<details class="paragraph-hidden-results"><summary>Results</summary>{block}</details>'
        )
    return block


def _message(index: int, kind: str, data: str) -> str:
    """One result message by its type (Zeppelin's `InterpreterResult.Type`)."""
    if kind == "HTML":
        return sandboxed_frame(data, f"HTML result of paragraph {index}", extra_class="result-html")
    if kind == "TABLE":
        return zeppelin_table(data, f"Table result of paragraph {index}")
    if kind in ("IMG", "SVG"):
        return _image(index, kind, data)
    if kind == "NULL" or not data:
        return ""
    return f'<pre class="result-text">{text(data)}</pre>'


def _image(index: int, kind: str, data: str) -> str:
    """IMG holds a base64 picture (PNG, JPEG or GIF); SVG the SVG's text."""
    if kind == "SVG":
        encoded, media_type = base64.b64encode(data.encode()).decode("ascii"), "image/svg+xml"
    else:
        encoded = "".join(data.split())
        try:
            base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return notice(f"The image result of paragraph {index} is not base64.")
        media_type = next(
            (t for sig, t in _IMAGE_SIGNATURES.items() if encoded.startswith(sig)), "image/png"
        )
    return (
        f'<img class="result-image" alt="Image result of paragraph {index}" '
        f'src="data:{media_type};base64,{encoded}">'
    )


def _error(message: str) -> str:
    return f'<p class="paragraph-error-message" role="note">{text(message)}</p>' if message else ""
