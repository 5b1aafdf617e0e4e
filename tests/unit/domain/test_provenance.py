"""Provenance rules: input changes, a repair's words, where a repair starts."""

from __future__ import annotations

from jobmanager.domain.provenance import (
    input_changes,
    input_warning,
    replayed_note,
    step_to_repair,
)


def test_input_changes_name_changed_new_and_gone_files() -> None:
    before = {"a.csv": "1", "b.csv": "2", "c.csv": "3"}
    now = {"a.csv": "1", "b.csv": "9", "d.csv": "4"}
    assert input_changes(before, now) == ["b.csv (changed)", "c.csv (gone)", "d.csv (new)"]
    assert input_changes(before, before) == []


def test_the_warning_names_the_origin_and_at_most_ten_files() -> None:
    assert input_warning("j1", []) == ""
    changes = [f"f{n} (new)" for n in range(12)]
    warning = input_warning("j1", changes)
    assert warning.startswith("Warning: the input differs from job j1's: f0 (new)")
    assert warning.endswith("and 2 more.") and "f10" not in warning


def test_a_repair_says_what_it_replayed() -> None:
    assert "paragraphs 1, 2 replayed" in replayed_note("j1", [1, 2], "paragraph")
    assert "cell 1 replayed" in replayed_note("j1", [1], "cell")
    assert "nothing to replay" in replayed_note("j1", [], "cell")


def test_a_repair_starts_at_the_first_failed_step_else_the_first_unfinished() -> None:
    assert step_to_repair(2, 5, 0) == 2
    assert step_to_repair(None, 3, 0) == 4
    assert step_to_repair(None, 0, 3) == 3
    assert step_to_repair(None, 0, 0) == 1
