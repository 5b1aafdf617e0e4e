"""Turn a paragraph's output into Zeppelin result messages (a port of `InterpreterOutput`).

Streamed text is split into messages by output directives (`%table`, `%html`, ...) at the
start of a line. Inside a TABLE a line starts only after an empty line (whose second
newline is dropped), so a table's `%html` cells stay in it. Output is capped at `limit`
bytes while it streams, so a print flood costs no memory, and an alert says it was
truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OUTPUT_LIMIT = 102400
RESULT_TYPES = ("TEXT", "HTML", "ANGULAR", "TABLE", "IMG", "SVG", "NULL", "NETWORK")
_DIRECTIVES = {f"%{t.lower()}": t for t in RESULT_TYPES}
_LONGEST_DIRECTIVE = max(len(d) for d in _DIRECTIVES)
_SEPARATORS = " \t\n"
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


class ResultCollector:
    """Collects one paragraph's output; `messages()` gives Zeppelin's `results.msg`."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.truncated = False
        self._size = 0
        self._done: list[_Message] = []
        self._current = _Message("TEXT")
        self._line_start = True  # `startOfTheNewLine`
        self._directive: str | None = None  # a `%word` read at a line start, undecided
        self._previous = ""  # the last character taken (`previousChar`)

    def write(self, text: str) -> None:
        """Feed streamed text (stdout, stderr, shell output), honouring directives as
        `InterpreterOutput.write` does, character by character (runs of plain text at once)."""
        pos = 0
        while pos < len(text) and not self.truncated:
            if self._line_start or self._directive is not None or text[pos] == "\n":
                self._take(text[pos])
                pos += 1
                continue
            newline = text.find("\n", pos)
            end = len(text) if newline < 0 else newline
            self._append(text[pos:end])
            self._previous = text[end - 1]
            pos = end

    def write_text(self, text: str) -> None:
        """A kernel's text (a stream, a plain result, an error, help) as Zeppelin's
        `JupyterKernelClient` writes it: as it is when it starts with a directive, else
        after `%text ` unless the current message is TEXT or HTML (which it joins)."""
        if not text.startswith("%") and self._current.type not in ("TEXT", "HTML"):
            self.write("%text ")
        self.write(text)

    def add(self, type_: str, data: str) -> None:
        """Add a whole message (a rich display output); later text starts a new TEXT one."""
        self._flush_directive()
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
        self._previous = ""

    def clear(self) -> None:
        """Drop everything so far (IPython's `clear_output`)."""
        self._done = []
        self._current = _Message("TEXT")
        self._size = 0
        self._line_start = True
        self._directive = None
        self._previous = ""

    def messages(self) -> list[dict[str, str]]:
        """The result messages: blank TEXT/HTML ones dropped, an alert if truncated."""
        self._flush_directive()
        result = [
            {"type": m.type, "data": m.data}
            for m in [*self._done, self._current]
            if m.type not in ("TEXT", "HTML") or m.data.strip()
        ]
        if self.truncated:
            result.append({"type": "HTML", "data": TRUNCATED_ALERT.format(limit=self.limit)})
        return result

    def _flush_directive(self) -> None:
        """A `%word` that turned out to be no directive is text."""
        if self._directive is not None:
            word, self._directive = self._directive, None
            self._append(word)

    def _take(self, char: str) -> None:
        """One character, by `InterpreterOutput.write(int)`'s rules."""
        if self._line_start:
            if char == "%":
                self._line_start, self._directive, self._previous = False, "%", char
                return
            if char != "\n":
                self._line_start = False
        if char == "\n":
            if self._current.type != "TABLE":
                self._line_start = True
            elif self._previous == "\n":
                self._line_start = True  # an empty line in a table: dropped
                return
        if self._directive is not None:
            if char not in _SEPARATORS:
                self._directive += char
                self._previous = char
                if len(self._directive) > _LONGEST_DIRECTIVE:
                    self._flush_directive()  # no directive is that long
                return
            word, self._directive = self._directive, None
            if word in _DIRECTIVES:
                self._start(_DIRECTIVES[word])
                self._previous = char
                return
            self._append(word)
        self._append(char)
        self._previous = char

    def _start(self, type_: str) -> None:
        self._done.append(self._current)
        self._current = _Message(type_)

    def _append(self, text: str) -> None:
        encoded = text.encode()
        room = self.limit - self._size
        if len(encoded) > room:
            text = encoded[:room].decode(errors="ignore")
            self.truncated = True
        self._size += len(text.encode()) if self.truncated else len(encoded)
        self._current.chunks.append(text)
