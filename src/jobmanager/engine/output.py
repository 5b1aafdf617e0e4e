"""Turn a paragraph's output into Zeppelin result messages (a port of `InterpreterOutput`).

Streamed text is split into messages by output directives (`%table`, `%html`, ...) at the
start of a line; a TABLE ends at an empty line. Output is capped at `limit` bytes while it
streams, so a print flood costs no memory, and an alert says it was truncated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OUTPUT_LIMIT = 102400
RESULT_TYPES = ("TEXT", "HTML", "ANGULAR", "TABLE", "IMG", "SVG", "NULL", "NETWORK")
_DIRECTIVE = re.compile(r"%(text|html|angular|table|img|svg|null|network)([ \t\n])")
_LONGEST_DIRECTIVE = max(len(t) for t in RESULT_TYPES) + 2
TRUNCATED_ALERT = (
    '<div class="result-alert alert-warning" role="alert">'
    '<button type="button" class="close" data-dismiss="alert" aria-label="Close">'
    '<span aria-hidden="true">&times;</span></button>'
    "<strong>Output is truncated</strong> to {limit} bytes. Learn more about "
    "<strong>ZEPPELIN_INTERPRETER_OUTPUT_LIMIT</strong></div>"
)


@dataclass
class _Message:
    type: str
    chunks: list[str] = field(default_factory=list)

    @property
    def data(self) -> str:
        return "".join(self.chunks)


def _maybe_directive(text: str) -> bool:
    """Whether `text` (no newline yet) could still grow into a directive."""
    if len(text) >= _LONGEST_DIRECTIVE or "\n" in text:
        return False
    return any(f"%{t.lower()}".startswith(text) for t in RESULT_TYPES)


class ResultCollector:
    """Collects one paragraph's output; `messages()` gives Zeppelin's `results.msg`."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.truncated = False
        self._size = 0
        self._done: list[_Message] = []
        self._current = _Message("TEXT")
        self._line_start = True
        self._pending = ""

    def write(self, text: str) -> None:
        """Feed streamed text (stdout, stderr, shell output), honouring directives."""
        if self.truncated or not text:
            return
        text, self._pending = self._pending + text, ""
        pos = 0
        while pos < len(text) and not self.truncated:
            if self._line_start:
                match = _DIRECTIVE.match(text, pos)
                if match:
                    self._start(match.group(1).upper())
                    self._line_start = match.group(2) == "\n"
                    pos = match.end()
                    continue
                if _maybe_directive(text[pos:]):
                    self._pending = text[pos:]
                    return
            newline = text.find("\n", pos)
            end = len(text) if newline < 0 else newline + 1
            self._append_line(text[pos:end])
            self._line_start = newline >= 0
            pos = end

    def add(self, type_: str, data: str) -> None:
        """Add a whole message (a rich display output); later text starts a new TEXT one."""
        self._flush_pending()
        if self.truncated:
            return
        size = len(data.encode())
        if type_ == "IMG" and self._size + size > self.limit:
            self.truncated = True  # never half an image
            return
        self._start(type_)
        self._append(data)
        self._start("TEXT")
        self._line_start = True

    def clear(self) -> None:
        """Drop everything so far (IPython's `clear_output`)."""
        self._done = []
        self._current = _Message("TEXT")
        self._size = 0
        self._line_start = True
        self._pending = ""

    def messages(self) -> list[dict[str, str]]:
        """The result messages: blank TEXT/HTML ones dropped, an alert if truncated."""
        self._flush_pending()
        result = [
            {"type": m.type, "data": m.data}
            for m in [*self._done, self._current]
            if m.type not in ("TEXT", "HTML") or m.data.strip()
        ]
        if self.truncated:
            result.append({"type": "HTML", "data": TRUNCATED_ALERT.format(limit=self.limit)})
        return result

    def _flush_pending(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._append_line(pending)
            self._line_start = False

    def _start(self, type_: str) -> None:
        self._done.append(self._current)
        self._current = _Message(type_)

    def _append_line(self, line: str) -> None:
        if self._current.type == "TABLE" and line == "\n" and self._line_start:
            self._start("TEXT")  # an empty line ends a table
            return
        self._append(line)

    def _append(self, text: str) -> None:
        encoded = text.encode()
        room = self.limit - self._size
        if len(encoded) > room:
            text = encoded[:room].decode(errors="ignore")
            self.truncated = True
        self._size += len(text.encode()) if self.truncated else len(encoded)
        self._current.chunks.append(text)
