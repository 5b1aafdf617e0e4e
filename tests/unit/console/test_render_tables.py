"""CSV previews (console/render/tables.py): what a reader sees of a file's first rows."""

from __future__ import annotations

from jobmanager.console.render import render_csv_preview
from tests.html_fragments import active_content, parse, table_cells

HOSTILE = "<script>alert(1)</script>"


def preview(data: bytes, max_rows: int = 200) -> tuple[str, list[list[str]]]:
    root = parse(render_csv_preview(data, max_rows))
    tables = root.iter("table")
    summary = root.with_class("csv-summary")
    return (summary[0].text if summary else root.text), (table_cells(tables[0]) if tables else [])


def test_a_small_file_is_shown_whole_with_its_header() -> None:
    summary, cells = preview(b"time,temperature\n2024-01-01,20.5\n2024-01-02,21\n")
    assert summary == "2 rows (UTF-8, comma-separated)."
    assert cells == [["time", "temperature"], ["2024-01-01", "20.5"], ["2024-01-02", "21"]]


def test_rows_past_the_limit_are_cut_and_the_line_says_so() -> None:
    data = b"n\n" + b"".join(b"%d\n" % i for i in range(250))
    summary, cells = preview(data, max_rows=200)
    assert summary == "Showing the first 200 of 250 rows (UTF-8, comma-separated)."
    assert len(cells) == 201
    assert cells[-1] == ["199"]


def test_delimiters_are_sniffed_quotes_honoured_and_ragged_rows_padded() -> None:
    summary, cells = preview(b'a;b;c\n1;"x;y";3\n4;5\n6;7;8;9\n')
    assert "semicolon-separated" in summary
    assert cells == [
        ["a", "b", "c", ""],
        ["1", "x;y", "3", ""],
        ["4", "5", "", ""],
        ["6", "7", "8", "9"],
    ]
    assert preview(b"a\tb\n1\t2\n")[1] == [["a", "b"], ["1", "2"]]
    assert preview(b"a|b\n1|2\n")[1] == [["a", "b"], ["1", "2"]]


def test_bad_encodings_and_byte_order_marks() -> None:
    summary, cells = preview("name;city\nJosé;Köln\n".encode("latin-1"))
    assert summary == "1 row (Latin-1, semicolon-separated)."
    assert cells == [["name", "city"], ["José", "Köln"]]
    assert preview("\ufeffa,b\n1,2\n".encode())[1][0] == ["a", "b"]


def test_what_cannot_be_read_is_said_in_words() -> None:
    assert preview(b"")[0] == "The file is empty."
    assert preview(b"\n\n")[0] == "The file is empty."
    summary, cells = preview(b"a,b\n1,2\n" + b'"' + b"x" * 200_000 + b'",3\n4,5\n')
    assert summary.startswith("1 row (UTF-8, comma-separated). Reading stopped at row 3: field")
    assert cells == [["a", "b"], ["1", "2"]]
    summary, cells = preview(b"a,b\n1,\x002\n")
    assert cells[1] == ["1", "\x002"]


def test_wide_files_show_their_first_hundred_columns() -> None:
    header = ",".join(f"c{i}" for i in range(150)).encode()
    summary, cells = preview(header + b"\n" + b",".join(b"1" for _ in range(150)) + b"\n")
    assert summary == "Showing only the first 100 of 150 columns (UTF-8, comma-separated)."
    assert len(cells[0]) == 100


def test_hostile_cells_are_text() -> None:
    data = f'{HOSTILE},"<img src=x onerror=alert(1)>"\n"{HOSTILE}",javascript:alert(1)\n'.encode()
    html = render_csv_preview(data)
    assert active_content(parse(html)) == []
    assert preview(data)[1] == [
        [HOSTILE, "<img src=x onerror=alert(1)>"],
        [HOSTILE, "javascript:alert(1)"],
    ]
