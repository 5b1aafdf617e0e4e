"""Zeppelin's output protocol: directives, tables, blank messages, the size cap."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobmanager.engine.output import ResultCollector


def messages(*chunks: str, limit: int = 102400) -> list[tuple[str, str]]:
    collector = ResultCollector(limit)
    for chunk in chunks:
        collector.write(chunk)
    return [(m["type"], m["data"]) for m in collector.messages()]


def test_plain_text_is_one_text_message() -> None:
    assert messages("hello ", "world\n") == [("TEXT", "hello world\n")]


def test_table_directive_after_text_as_z_show_prints_it() -> None:
    assert messages("hello world\n", "%table n\tsq\n1\t1\n2\t4\n\n") == [
        ("TEXT", "hello world\n"),
        ("TABLE", "n\tsq\n1\t1\n2\t4\n"),
    ]


def test_directive_split_across_chunks_is_still_seen() -> None:
    assert messages("a\n%ht", "ml <b>x</b>") == [("TEXT", "a\n"), ("HTML", "<b>x</b>")]


def test_directive_only_counts_at_line_start() -> None:
    assert messages("x %html y\n") == [("TEXT", "x %html y\n")]


def test_unknown_percent_word_is_text() -> None:
    assert messages("%htmlx y\n%tab") == [("TEXT", "%htmlx y\n%tab")]


def test_a_directive_after_an_empty_line_ends_a_table() -> None:
    assert messages("%table a\n1\n\n%text after\n") == [("TABLE", "a\n1\n"), ("TEXT", "after\n")]


def test_in_a_table_lines_start_only_after_an_empty_line() -> None:
    """`InterpreterOutput.write(int)` (zeppelin-interpreter): in a TABLE a newline sets
    `startOfTheNewLine` only when the previous character was a newline too, and that
    second newline is dropped; text after it without a directive stays in the table."""
    assert messages("%table a\n%html <b>1</b>\n\nafter\n\n\n%html <i>x</i>") == [
        ("TABLE", "a\n%html <b>1</b>\nafter\n"),
        ("HTML", "<i>x</i>"),
    ]


def test_kernel_text_joins_text_and_html_and_follows_other_types_as_text() -> None:
    """`JupyterKernelClient.stream_execute`: a TEXT output that does not start with `%`
    gets `%text ` first unless the current message is TEXT or HTML."""
    collector = ResultCollector()
    collector.write_text("%html <b>x</b>")
    collector.write_text("joined\n")
    collector.write_text("%table a\n1\n\n")
    collector.write_text("new text\n")
    assert collector.messages() == [
        {"type": "HTML", "data": "<b>x</b>joined\n"},
        {"type": "TABLE", "data": "a\n1\n"},
        {"type": "TEXT", "data": "new text\n"},
    ]


def test_blank_text_and_html_messages_are_dropped() -> None:
    assert messages("  \n%html \n%text  \n%img abc") == [("IMG", "abc")]


def test_directive_followed_by_newline() -> None:
    assert messages("%html\n<p>x</p>") == [("HTML", "<p>x</p>")]


def test_rich_messages_are_separate_and_text_resumes_after() -> None:
    collector = ResultCollector()
    collector.write("before\n")
    collector.add("IMG", "aGk=")
    collector.write("after\n")
    assert [m["type"] for m in collector.messages()] == ["TEXT", "IMG", "TEXT"]


def test_clear_output_drops_everything_so_far() -> None:
    collector = ResultCollector()
    collector.write("one\n")
    collector.clear()
    collector.write("two\n")
    assert collector.messages() == [{"type": "TEXT", "data": "two\n"}]


def test_output_is_capped_with_zeppelin_alert() -> None:
    result = messages("x" * 60, "y" * 60, "z" * 60, limit=100)
    assert result[0] == ("TEXT", "x" * 60 + "y" * 40)
    assert result[1][0] == "HTML"
    assert "Output is truncated" in result[1][1]
    assert "100 bytes" in result[1][1]


def test_cap_never_splits_a_utf8_character() -> None:
    result = messages("é" * 10, limit=5)
    assert result[0] == ("TEXT", "éé")


def test_image_beyond_the_cap_is_dropped_whole() -> None:
    collector = ResultCollector(limit=10)
    collector.write("12345")
    collector.add("IMG", "A" * 20)
    assert [m["type"] for m in collector.messages()] == ["TEXT", "HTML"]


def test_flood_costs_no_memory_once_capped() -> None:
    collector = ResultCollector()
    chunk = "x" * 1_000_000
    tracemalloc.start()
    for _ in range(100):
        collector.write(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert collector.truncated
    assert peak < 3_000_000
    assert sum(len(m["data"]) for m in collector.messages()[:-1]) == 102400


@pytest.mark.parametrize("directive", ["text", "html", "table", "img", "svg", "angular"])
def test_every_directive_maps_to_its_type(directive: str) -> None:
    assert messages(f"%{directive} data") == [(directive.upper(), "data")]


PIECES = ["a", "b\n", "\n", "%", "%t", "able ", "%html ", "%table x\ty\n", "é", "\t"]


@given(st.lists(st.sampled_from(PIECES), max_size=30), st.data())
def test_how_output_is_chunked_does_not_matter(parts: list[str], data: st.DataObject) -> None:
    text = "".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert messages(*chunks) == messages(text)
    assert messages(*chunks, limit=7) == messages(text, limit=7)
