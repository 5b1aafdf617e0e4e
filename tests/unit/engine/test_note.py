"""Loading and saving Zeppelin notes, without a kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobmanager.engine.note import (
    NOTE_KEY_ORDER,
    NoteFormatError,
    load_note,
    model_kind,
    note_file_name,
    parse_date,
    parse_note,
    parse_paragraph_text,
    set_in_order,
)
from jobmanager.engine.zeppelin_format import check_note_text

FIXTURES = Path(__file__).parent / "fixtures"  # copies of the shared Zeppelin fixtures


@pytest.mark.parametrize("name", ["fixture_input.zpln", "fixture_expected.zpln"])
def test_fixture_round_trips_as_gson_writes_it(name: str) -> None:
    # Gson writes no final newline (the expected fixture has one added by an editor), and
    # escapes `<`, `>`, `&`, `=` and `'` (the fixtures, derived by hand, do not).
    text = (FIXTURES / name).read_text(encoding="utf-8").rstrip("\n")
    gson_text = text
    for char, escape in {"<": "\\u003c", ">": "\\u003e", "=": "\\u003d", "'": "\\u0027"}.items():
        gson_text = gson_text.replace(char, escape)
    assert parse_note(text).to_json() == gson_text
    assert check_note_text(gson_text) == []
    assert check_note_text(text) != []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-05 10:15:02.120", "2024-03-05 10:15:02.120000"),
        ("Dec 17, 2016 3:32:15 PM", "2016-12-17 15:32:15"),
        ("Dec 7, 2016 3:32:15 AM", "2016-12-07 03:32:15"),
        ("Dec 17, 2016, 3:32:15\u202fPM", "2016-12-17 15:32:15"),
        ("Dec 17, 2016 15:32:15", "2016-12-17 15:32:15"),
    ],
)
def test_dates_in_every_format_zeppelin_reads(text: str, expected: str) -> None:
    assert str(parse_date(text)) == expected


def test_iso_date_with_zone_is_converted_to_local_time() -> None:
    parsed = parse_date("2016-12-17T15:32:15+0000")
    assert parsed.tzinfo is None
    assert parsed == parse_date("2016-12-17T15:32:15Z")


def test_bad_date_is_rejected() -> None:
    with pytest.raises(NoteFormatError):
        parse_date("yesterday")


def test_legacy_note_is_normalised_as_zeppelin_writes_it(tmp_path: Path) -> None:
    legacy = {
        "paragraphs": [
            {
                "text": "%md hi",
                "dateUpdated": "Dec 17, 2016 3:32:15 PM",
                "config": {"colWidth": 12, "enabled": True, "results": []},
                "settings": {"params": {"n": 3}, "forms": {}},
                "jobName": "paragraph_1",
                "id": "20150213-231621_168813393",
                "dateCreated": "Feb 13, 2015 11:16:21 PM",
                "status": "RUNNING",
                "futureKey": {"kept": 1},
            }
        ],
        "name": "folder/sub/note",
        "id": "2A94M5J1Z",
        "angularObjects": {},
        "config": {"looknfeel": "default"},
        "info": {"isRunning": True},
    }
    path = tmp_path / "note.json"
    path.write_text(json.dumps(legacy))
    note = load_note(path)
    assert note.legacy
    assert note.default_group == "spark"  # as Zeppelin >= 0.9 reads a legacy note
    note.save(tmp_path / "out.json")
    saved = json.loads((tmp_path / "out.json").read_text())
    paragraph = saved["paragraphs"][0]
    assert paragraph["dateUpdated"] == "2016-12-17 15:32:15.000"
    assert paragraph["dateCreated"] == "2015-02-13 23:16:21.000"
    assert paragraph["status"] == "ABORT"
    assert paragraph["futureKey"] == {"kept": 1}
    assert list(paragraph)[-1] == "futureKey"
    assert '"colWidth": 12.0' in (tmp_path / "out.json").read_text()
    assert paragraph["settings"]["params"] == {"n": 3.0}
    assert saved["info"] == {}
    assert check_note_text((tmp_path / "out.json").read_text()) == []


def test_default_group_of_09_note_without_one_is_spark() -> None:
    note = parse_note(json.dumps({"paragraphs": [], "version": "0.9.0"}))
    assert not note.legacy
    assert note.default_group == "spark"


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    note = parse_note((FIXTURES / "fixture_input.zpln").read_text())
    target = tmp_path / "out" / "note.zpln"
    note.save(target)
    note.save(target)
    assert [p.name for p in target.parent.iterdir()] == ["note.zpln"]


def test_unicode_separators_and_html_are_escaped_as_gson_does() -> None:
    note = parse_note(json.dumps({"paragraphs": [{"text": "é\u2028<b a='1'>&</b>"}]}))
    assert '"text": "é\\u2028\\u003cb a\\u003d\\u00271\\u0027\\u003e\\u0026\\u003c/b\\u003e"' in (
        note.to_json()
    )


def test_new_keys_go_where_gson_writes_them() -> None:
    paragraph = {"text": "x", "settings": {}, "apps": [], "id": "p", "status": "READY"}
    set_in_order(paragraph, "results", {"code": "SUCCESS", "msg": []})
    set_in_order(paragraph, "dateStarted", "d")
    assert list(paragraph) == ["text", "settings", "results", "apps", "id", "dateStarted", "status"]


@pytest.mark.parametrize(
    ("text", "prefix", "props", "script"),
    [
        ("%md\n# x", "md", {}, "\n# x"),
        ("  %python.sql select 1", "python.sql", {}, "select 1"),
        ("%sh(form=simple)\necho ${a=1}", "sh", {"form": "simple"}, "\necho ${a=1}"),
        ('%spark(pool="a, b", flag) x', "spark", {"pool": "a, b", "flag": "flag"}, "x"),
        ("print(1)", "", {}, "print(1)"),
        ("%my-intp.sub code", "my-intp.sub", {}, "code"),
        (None, "", {}, ""),
    ],
)
def test_paragraph_text_is_split_like_zeppelin(
    text: str | None, prefix: str, props: dict[str, str], script: str
) -> None:
    parsed = parse_paragraph_text(text)
    assert (parsed.prefix, parsed.local_properties, parsed.script) == (prefix, props, script)


def test_blank_paragraphs() -> None:
    assert parse_paragraph_text("%sh\n").is_blank
    assert parse_paragraph_text("").is_blank
    assert not parse_paragraph_text("%sh(form=simple)\n").is_blank


def test_model_kinds_are_told_apart_by_content() -> None:
    assert model_kind((FIXTURES / "fixture_input.zpln").read_bytes()) == "zeppelin"
    assert model_kind(b'{"cells": [], "nbformat": 4, "metadata": {}}') == "jupyter"
    assert model_kind(b'{"worksheets": [], "nbformat": 3, "metadata": {}}') == "jupyter"
    assert model_kind(b'{"empty": "model"}') == "other"
    assert model_kind(b"[1]") == "other"
    assert model_kind(b"\x00garbage") == "other"


@pytest.mark.parametrize(
    ("note", "stem", "name"),
    [
        ({"paragraphs": [], "id": "2C3XZQ8KT", "version": "0.11.2"}, "report", "report_2C3XZQ8KT"),
        ({"paragraphs": [], "id": "2C3XZQ8KT"}, "drill-note", "drill-note_2C3XZQ8KT"),  # legacy
        ({"paragraphs": [], "id": "2C3XZQ8KT"}, "x_2C3XZQ8KT", "x_2C3XZQ8KT"),
        ({"paragraphs": [], "id": " "}, "report", "report"),
        ({"cells": []}, "report", "report"),
    ],
)
def test_a_note_is_named_as_zeppelin_keeps_it(note: object, stem: str, name: str) -> None:
    """`NotebookRepo.buildNoteFileName`: `{path}_{noteId}.zpln`, whatever the format."""
    assert note_file_name(json.dumps(note), stem) == f"{name}.zpln"


def test_not_a_note_is_rejected() -> None:
    with pytest.raises(NoteFormatError):
        parse_note('{"cells": []}')
    with pytest.raises(NoteFormatError):
        parse_note("not json")


def test_note_keys_go_where_gson_writes_them() -> None:
    data = {"paragraphs": [], "name": "n", "id": "x", "config": {}, "info": {}}
    set_in_order(data, "noteForms", {}, NOTE_KEY_ORDER)
    assert list(data) == ["paragraphs", "name", "id", "noteForms", "config", "info"]
