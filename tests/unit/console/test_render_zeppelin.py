"""Executed Zeppelin notes as the console shows them (console/render/zeppelin.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from jobmanager.console.render import render_zeppelin_note
from tests.html_fragments import Element, active_content, parse, table_cells

EXPECTED_NOTE = Path(__file__).parents[1] / "engine" / "fixtures" / "fixture_expected.zpln"
HOSTILE = "<script>alert(1)</script>"
PNG_1PX = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg"
    "=="
)


def paragraphs(html: str) -> list[Element]:
    return parse(html).with_class("paragraph")


def note(*paragraph_list: dict[str, Any], name: str = "n") -> bytes:
    return json.dumps({"paragraphs": list(paragraph_list), "name": name}).encode()


def test_the_shared_fixture_shows_every_paragraph_as_zeppelin_does() -> None:
    html = render_zeppelin_note(EXPECTED_NOTE.read_bytes())
    root = parse(html)
    assert root.with_class("note-name")[0].text == "daily_report"
    assert root.with_class("note-summary")[0].text == "5 paragraphs: 3 finished, 1 error, 1 ready"
    shown = paragraphs(html)
    statuses = [p.with_class("paragraph-status")[0].text for p in shown]
    assert statuses == ["FINISHED", "FINISHED", "FINISHED", "ERROR", "READY"]
    assert shown[0].with_class("paragraph-title")[0].text == "1 About"
    assert [p.with_class("paragraph-took")[0].text for p in shown[:2]] == [
        "Took 0.1 s",
        "Took 2.5 s",
    ]
    assert active_content(root) == []


def test_markdown_is_a_framed_document_and_its_code_folded_as_the_note_says() -> None:
    first = paragraphs(render_zeppelin_note(EXPECTED_NOTE.read_bytes()))[0]
    [code] = first.iter("details")
    assert "open" not in code.attrs  # editorHide: Zeppelin shows only the result
    assert code.iter("code")[0].text.startswith("%md\n# Daily report")
    [frame] = first.iter("iframe")
    assert frame.attrs["sandbox"] == "allow-same-origin"
    document = parse(frame.attrs["srcdoc"])
    assert document.iter("h1")[0].text == "Daily report"
    assert document.iter("strong")[0].text == "headless"


def test_text_and_table_results_of_the_python_paragraph() -> None:
    second = paragraphs(render_zeppelin_note(EXPECTED_NOTE.read_bytes()))[1]
    assert "open" in second.iter("details")[0].attrs
    assert [p.text for p in second.with_class("result-text")] == ["hello world\n"]
    [table] = second.iter("table")
    assert table_cells(table) == [["n", "sq"], ["1", "1"], ["2", "4"]]
    assert [th.attrs["aria-sort"] for th in table.iter("th")] == ["none", "none"]
    assert all(th.iter("button") for th in table.iter("th"))  # sortable by keyboard too


def test_a_failed_paragraph_shows_its_output_and_exit_value_as_an_error() -> None:
    failed = paragraphs(render_zeppelin_note(EXPECTED_NOTE.read_bytes()))[3]
    assert "paragraph-error" in failed.attrs["class"]
    [results] = failed.with_class("paragraph-results")
    assert "results-error" in results.attrs["class"]
    assert [p.text for p in results.with_class("result-text")] == [
        "partial output\n",
        "ExitValue: 3",
    ]


def test_error_message_images_and_hidden_results() -> None:
    html = render_zeppelin_note(
        note(
            {"text": "%python\n1/0", "status": "ERROR", "errorMessage": "ZeroDivisionError"},
            {
                "text": "",
                "status": "FINISHED",
                "results": {
                    "code": "SUCCESS",
                    "msg": [
                        {"type": "IMG", "data": PNG_1PX},
                        {"type": "SVG", "data": "<svg xmlns='http://www.w3.org/2000/svg'/>"},
                    ],
                },
            },
            {
                "status": "FINISHED",
                "config": {"tableHide": True},
                "results": {"code": "SUCCESS", "msg": [{"type": "TEXT", "data": "quiet"}]},
            },
        )
    )
    first, second, third = paragraphs(html)
    assert first.with_class("paragraph-error-message")[0].text == "ZeroDivisionError"
    sources = [img.attrs["src"] for img in second.iter("img")]
    assert sources[0] == f"data:image/png;base64,{PNG_1PX}"
    assert base64.b64decode(sources[1].split(",", 1)[1]).startswith(b"<svg")
    assert [img.attrs["alt"] for img in second.iter("img")] == ["Image result of paragraph 2"] * 2
    assert third.iter("details")[0].iter("summary")[0].text == "Results"


def test_hostile_content_is_text_and_html_results_cannot_script() -> None:
    html = render_zeppelin_note(
        note(
            {
                "title": HOSTILE,
                "text": f"%sh\necho '{HOSTILE}'",
                "status": f'"><img src=x onerror=alert(1)>{HOSTILE}',
                "errorMessage": HOSTILE,
                "results": {
                    "code": "ERROR",
                    "msg": [
                        {"type": "TEXT", "data": HOSTILE},
                        {
                            "type": "TABLE",
                            "data": f"{HOSTILE}\tb\n<img src=x onerror=alert(1)>\t2\n",
                        },
                        {"type": "HTML", "data": f"{HOSTILE}<img src=x onerror=alert(1)>"},
                        {"type": "ANGULAR", "data": HOSTILE},
                        {"type": "IMG", "data": '" onerror="alert(1)'},
                    ],
                },
            },
            name=HOSTILE,
        )
    )
    root = parse(html)
    assert active_content(root) == []
    [shown] = paragraphs(html)
    assert root.with_class("note-name")[0].text == HOSTILE
    assert shown.with_class("paragraph-title")[0].text == f"1 {HOSTILE}"
    assert shown.with_class("paragraph-status")[0].text == "UNKNOWN"
    assert shown.with_class("paragraph-error-message")[0].text == HOSTILE
    assert [p.text for p in shown.with_class("result-text")] == [HOSTILE, HOSTILE]
    assert table_cells(shown.iter("table")[0]) == [
        [HOSTILE, "b"],
        ["<img src=x onerror=alert(1)>", "2"],
    ]
    [frame] = shown.iter("iframe")
    assert frame.attrs["sandbox"] == "allow-same-origin"  # no allow-scripts
    framed = parse(frame.attrs["srcdoc"])
    [policy] = framed.iter("meta")[1:2]
    assert policy.attrs["http-equiv"] == "Content-Security-Policy"
    assert "default-src 'none'" in policy.attrs["content"]
    assert framed.iter("script")[0].text == "alert(1)"  # there, and inert
    assert (
        shown.with_class("render-notice")[0].text
        == "The image result of paragraph 1 is not base64."
    )


def test_files_that_are_no_note_say_so() -> None:
    assert parse(render_zeppelin_note(b"{not json")).text == (
        "This file is not a Zeppelin note: it is not JSON."
    )
    assert parse(render_zeppelin_note(b"\xff\xfe")).text.startswith("This file is not")
    assert parse(render_zeppelin_note(b'{"paragraphs": 3}')).text == (
        "This file is not a Zeppelin note: it has no list of paragraphs."
    )
    odd = {"paragraphs": [{"text": 5, "results": "x", "config": [], "title": 7}, "oops"]}
    [shown] = paragraphs(render_zeppelin_note(json.dumps(odd).encode()))
    assert shown.with_class("paragraph-status")[0].text == "UNKNOWN"
