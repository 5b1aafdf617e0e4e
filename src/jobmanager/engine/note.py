"""Zeppelin notes: load `.zpln` (0.9+) and legacy `note.json`, save them as Zeppelin does.

A note is kept as the plain JSON dicts Zeppelin's Gson writes, so unknown keys and key
order survive a round trip. Saving rewrites dates as `yyyy-MM-dd HH:mm:ss.SSS` and
numbers of free-form maps as doubles (`12.0`), the way Gson writes them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_GROUP = "spark"
DATE_FIELDS = ("dateUpdated", "dateCreated", "dateStarted", "dateFinished")
WRITE_DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"

# Gson field order of Paragraph (then its superclass Job): new keys are inserted at their place.
PARAGRAPH_KEY_ORDER = (
    "title",
    "text",
    "user",
    "dateUpdated",
    "progress",
    "config",
    "settings",
    "results",
    "apps",
    "runtimeInfos",
    "progressUpdateIntervalMs",
    "jobName",
    "id",
    "dateCreated",
    "dateStarted",
    "dateFinished",
    "status",
    "errorMessage",
)
# Gson field order of Note (0.9+).
NOTE_KEY_ORDER = (
    "paragraphs",
    "name",
    "id",
    "defaultInterpreterGroup",
    "version",
    "noteParams",
    "noteForms",
    "angularObjects",
    "config",
    "info",
)

_GSON_ESCAPES = str.maketrans({c: f"\\u{ord(c):04x}" for c in "<>&='\u2028\u2029"})
_READ_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",  # yyyy-MM-dd HH:mm:ss.SSS
    "%Y-%m-%dT%H:%M:%S%z",  # yyyy-MM-dd'T'HH:mm:ssZ
    "%b %d, %Y %I:%M:%S %p",  # MMM d, yyyy h:mm:ss a
    "%b %d, %Y, %I:%M:%S %p",  # the same as newer JDKs (CLDR) write it
    "%b %d, %Y %H:%M:%S",  # MMM dd, yyyy HH:mm:ss
)


class NoteFormatError(ValueError):
    """The file is not a model the engine can run (a Zeppelin note, a Jupyter notebook)."""


def parse_date(value: str) -> datetime:
    """Parse a date in any format Zeppelin reads; aware dates become naive local time."""
    text = value.strip().replace("\u202f", " ").replace("\xa0", " ")
    if text.endswith("Z"):
        text = text[:-1] + "+0000"
    for fmt in _READ_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone().replace(tzinfo=None)
        return parsed
    raise NoteFormatError(f"Unparseable date: {value!r}")


def format_date(value: datetime) -> str:
    """Format as Zeppelin writes dates: `yyyy-MM-dd HH:mm:ss.SSS`."""
    return value.strftime(WRITE_DATE_FORMAT)[:-3]


def now_string() -> str:
    """The current local time in Zeppelin's date format."""
    return format_date(datetime.now())


def set_in_order(
    mapping: dict[str, Any], key: str, value: Any, order: tuple[str, ...] = PARAGRAPH_KEY_ORDER
) -> None:
    """Set `key`, inserting it where Gson would write it (by `order`) if it is new."""
    if key in mapping or key not in order:
        mapping[key] = value
        return
    rank = order.index(key)
    items = list(mapping.items())
    at = next(
        (i for i, (k, _) in enumerate(items) if k in order and order.index(k) > rank),
        len(items),
    )
    items.insert(at, (key, value))
    mapping.clear()
    mapping.update(items)


def _as_doubles(value: Any) -> Any:
    """Gson reads every number of a `Map<String, Object>` as a Double."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _as_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_doubles(v) for v in value]
    return value


@dataclass
class Note:
    """A Zeppelin note as ordered JSON data; `legacy` is true for a ≤0.8 `note.json`;
    `mode` holds the permission bits of the file it was loaded from, which saved copies get."""

    data: dict[str, Any]
    legacy: bool = False
    mode: int | None = None

    @property
    def paragraphs(self) -> list[dict[str, Any]]:
        paragraphs: list[dict[str, Any]] = self.data.setdefault("paragraphs", [])
        return paragraphs

    @property
    def default_group(self) -> str:
        """The note's default interpreter group, as Zeppelin ≥ 0.9 resolves it: a legacy
        note has none, and a blank one means `zeppelin.interpreter.group.default`, spark."""
        group = self.data.get("defaultInterpreterGroup")
        if isinstance(group, str) and group.strip():
            return group.strip()
        return DEFAULT_GROUP

    def to_json(self) -> str:
        """Serialise exactly as Zeppelin's Gson pretty printer does."""
        return gson_json(self.data)

    def save(self, path: Path) -> None:
        """Write the note atomically: a temporary file renamed over `path`."""
        write_atomic(path, self.to_json(), self.mode)


def gson_json(data: Any) -> str:
    """JSON as Gson's pretty printer writes it, HTML-safe as Gson is by default: `<`, `>`,
    `&`, `=`, `'`, U+2028 and U+2029 as `\\u` escapes (they can only occur in strings)."""
    return json.dumps(data, indent=2, ensure_ascii=False).translate(_GSON_ESCAPES)


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` to `path` so readers see either the old or the new file, never half.

    The file gets `mode`, else the mode a new file gets (0666 less the umask), not the
    0600 of the temporary file it is written through."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            os.fchmod(handle.fileno(), _new_file_mode() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file_mode() -> int:
    """0666 less the process's umask, read without changing it (threads may be writing)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    match = re.search(r"^Umask:\s*([0-7]+)", status, re.MULTILINE)
    return 0o666 & ~(int(match.group(1), 8) if match else 0o022)


def _normalise(data: dict[str, Any]) -> None:
    """Apply what Zeppelin's reader does, so that saving writes what Zeppelin would write."""
    for paragraph in data["paragraphs"]:
        for key in DATE_FIELDS:
            value = paragraph.get(key)
            if isinstance(value, str):
                paragraph[key] = format_date(parse_date(value))
        if isinstance(paragraph.get("config"), dict):
            paragraph["config"] = _as_doubles(paragraph["config"])
        settings = paragraph.get("settings")
        if isinstance(settings, dict) and isinstance(settings.get("params"), dict):
            settings["params"] = _as_doubles(settings["params"])
        if paragraph.get("status") in ("PENDING", "RUNNING"):
            paragraph["status"] = "ABORT"
    if isinstance(data.get("config"), dict):
        data["config"] = _as_doubles(data["config"])
    info = data.get("info")
    if isinstance(info, dict):
        info.pop("isRunning", None)


def parse_note(text: str | bytes) -> Note:
    """Parse a note from its JSON text (either format)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NoteFormatError(f"Not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("paragraphs"), list):
        raise NoteFormatError("Not a Zeppelin note: no paragraphs list")
    for number, paragraph in enumerate(data["paragraphs"], 1):
        if not isinstance(paragraph, dict):
            raise NoteFormatError(f"Paragraph {number} is not a JSON object")
        if not isinstance(paragraph.get("text", ""), str | None):
            raise NoteFormatError(f"Paragraph {number}: its text is not a string")
    _normalise(data)
    legacy = "defaultInterpreterGroup" not in data and "version" not in data
    return Note(data=data, legacy=legacy)


def load_note(path: Path) -> Note:
    """Load a `.zpln` or legacy `note.json` file."""
    note = parse_note(path.read_bytes())
    note.mode = path.stat().st_mode & 0o777
    return note


def note_file_name(payload: str | bytes, stem: str) -> str:
    """The name of a note's executed copy, for a job (`stem`: the model's name) and for
    `run-note` (`stem`: the input file's) alike: `{stem}_{id}.zpln`, the name Zeppelin
    0.9+ keeps a note under (`NotebookRepo.buildNoteFileName`) and reads its id from.
    A legacy note gets it too, as Zeppelin's upgrade renames `note.json`; a `stem` that
    already ends in `_{id}` keeps it once, and a note without an id is `{stem}.zpln`."""
    try:
        note_id = parse_note(payload).data.get("id")
    except NoteFormatError:
        note_id = None
    if not isinstance(note_id, str) or not note_id.strip():
        return f"{stem}.zpln"
    return f"{stem.removesuffix('_' + note_id)}_{note_id}.zpln"


def model_kind(payload: str | bytes) -> str:
    """What a model payload is: "zeppelin" (a note of either format), "jupyter" (an
    nbformat 4 notebook, or 3, which runs upgraded as papermill runs it) or "other"."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "other"
    if not isinstance(data, dict):
        return "other"
    version = data.get("nbformat")
    cells = "cells" if version == 4 else "worksheets" if version == 3 else ""
    if cells and isinstance(data.get(cells), list):
        return "jupyter"
    paragraphs = data.get("paragraphs")
    if isinstance(paragraphs, list) and all(isinstance(p, dict) for p in paragraphs):
        return "zeppelin"
    return "other"


_PREFIX = re.compile(r"^(\s*)%([a-zA-Z0-9_\-]+(?:\.\w+)*)")


@dataclass(frozen=True)
class ParsedText:
    """A paragraph's text split as Zeppelin's `ParagraphTextParser` splits it."""

    prefix: str  # e.g. "python", "sh", "spark.sql"; "" when the text has none
    local_properties: dict[str, str]
    script: str

    @property
    def is_blank(self) -> bool:
        return not self.script.strip() and not self.local_properties


def _parse_local_properties(text: str, start: int) -> tuple[dict[str, str], int]:
    """Parse `(k=v, k2="v 2")` starting at the `(`; return properties and the end index."""
    props: dict[str, str] = {}
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = start + 1
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append("".join(current))
            current = []
        elif ch == ")":
            parts.append("".join(current))
            for part in parts:
                key, sep, value = part.partition("=")
                if key.strip():
                    props[key.strip()] = value.strip() if sep else key.strip()
            return props, i + 1
        else:
            current.append(ch)
        i += 1
    raise NoteFormatError(f"Unclosed local properties in paragraph text: {text[:80]!r}")


def parse_paragraph_text(text: str | None) -> ParsedText:
    """Split `%prefix(props) script` like Zeppelin; leading spaces (not newlines) go."""
    text = text or ""
    match = _PREFIX.match(text)
    if not match:
        return ParsedText("", {}, _strip_leading_spaces(text))
    prefix = match.group(2)
    pos = match.end()
    props: dict[str, str] = {}
    if pos < len(text) and text[pos] == "(":
        props, pos = _parse_local_properties(text, pos)
    return ParsedText(prefix, props, _strip_leading_spaces(text[pos:]))


def _strip_leading_spaces(script: str) -> str:
    i = 0
    while i < len(script) and script[i] <= " " and script[i] != "\n":
        i += 1
    return script[i:]
