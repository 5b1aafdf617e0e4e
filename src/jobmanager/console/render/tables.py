"""Tables: Zeppelin's TABLE results and CSV previews, as HTML tables sortable by column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from jobmanager.console.render.markup import counted, notice, text

MAX_COLUMNS = 100
_SNIFF_CHARS = 16 * 1024
_DELIMITERS = ",;\t|"


def html_table(header: Sequence[str], rows: Sequence[Sequence[str]], label: str) -> str:
    """A table whose header buttons sort it (`render.js`); short rows are padded."""
    width = max([len(header), *(len(row) for row in rows)])
    head = "".join(
        f'<th scope="col" aria-sort="none"><button type="button" class="sort-button">'
        f"{text(name)}</button></th>"
        for name in _padded(header, width)
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{text(cell)}</td>" for cell in _padded(row, width)) + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-scroll"><table class="sortable" aria-label="{text(label)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _padded(cells: Sequence[str], width: int) -> list[str]:
    return [*cells, *[""] * (width - len(cells))]


def zeppelin_table(data: str, label: str) -> str:
    """Zeppelin's TABLE message: a header line, then rows, cells separated by tabs."""
    lines = data.rstrip("\n").split("\n")
    header, *rows = (line.split("\t") for line in lines)
    return html_table(header, rows, label)


@dataclass
class _Csv:
    rows: list[list[str]]
    total: int
    encoding: str
    delimiter: str
    problem: str = ""


def render_csv_preview(data: bytes, max_rows: int = 200) -> str:
    """The first `max_rows` rows of a CSV file as a table, with a line saying what is shown.

    The delimiter is sniffed (`,`, `;`, tab or `|`); the first row is the header; text that
    is not UTF-8 is read as Latin-1 (every byte is some character there), and rows of
    uneven length are padded.
    """
    parsed = _read_csv(data, max_rows)
    if not parsed.rows:
        return notice(parsed.problem or "The file is empty.")
    header, *rows = parsed.rows
    width = max(len(row) for row in parsed.rows)
    cut = [f"only the first {MAX_COLUMNS} of {width} columns"] if width > MAX_COLUMNS else []
    header, rows = header[:MAX_COLUMNS], [row[:MAX_COLUMNS] for row in rows]
    shown = len(rows)
    if parsed.total > shown:
        cut.insert(0, f"the first {shown} of {counted(parsed.total, 'row')}")
    summary = _summary(parsed, shown, cut)
    table = html_table(header, rows, "Preview of the file")
    return f'<div class="csv-preview"><p class="csv-summary">{text(summary)}</p>{table}</div>'


def _summary(parsed: _Csv, shown: int, cut: list[str]) -> str:
    delimiter = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}[parsed.delimiter]
    what = f"Showing {' and '.join(cut)}" if cut else counted(shown, "row")
    read = f"{parsed.encoding}, {delimiter}-separated"
    problem = f" {parsed.problem}" if parsed.problem else ""
    return f"{what} ({read}).{problem}"


def _read_csv(data: bytes, max_rows: int) -> _Csv:
    content, encoding = _decoded(data)
    delimiter = _sniffed_delimiter(_sample(content))
    rows: list[list[str]] = []
    total, problem = 0, ""
    try:
        for row in _records(content, delimiter):
            if total <= max_rows:  # the header and max_rows rows
                rows.append(row)
            total += 1
    except csv.Error as error:
        problem = f"Reading stopped at row {total + 1}: {error}."
    return _Csv(rows, max(total - 1, 0), encoding, delimiter, problem)


def _records(content: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=False)
    return (row for row in reader if row)


def _decoded(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _sample(content: str) -> str:
    """The first lines of `content`, whole ones only when there are more."""
    if len(content) <= _SNIFF_CHARS:
        return content
    sample = content[:_SNIFF_CHARS]
    return sample[: sample.rfind("\n") + 1] or sample


def _sniffed_delimiter(sample: str) -> str:
    """The sniffer's guess; when rows disagree too much for it, the header line's commonest."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        header = sample.split("\n", 1)[0]
        counts = {d: header.count(d) for d in _DELIMITERS}
        commonest = max(counts, key=lambda d: counts[d])
        return commonest if counts[commonest] else ","
