"""Data Exchange name rules and display-name checks."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobmanager.domain.names import (
    MAX_PATH_BYTES,
    NameRuleError,
    check_display_name,
    check_name,
    check_path,
    name_from,
)


@pytest.mark.parametrize(
    "name",
    ["data.csv", "a", "...", "My Report (final) v2_1-b.ipynb", "Über.txt", "数据.csv", " x "],
)
def test_good_names(name: str) -> None:
    assert check_name(name) == name


def test_names_are_nfc_normalized() -> None:
    decomposed = "U\u0308ber"
    assert check_name(decomposed) == "Über"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "must not be empty"),
        (".", "must not be '.'"),
        ("..", "must not be '..'"),
        ("a/b", "must not contain '/'"),
        ("a\x00b", "NUL"),
        ("a\nb", "U+000A"),
        ("a\tb", "U+0009"),
        ("a:b", "':'"),
        ("a*b", "'*'"),
        ("a\\b", "'\\'"),
        ("x" * 256, "256 bytes"),
        ("ü" * 128, "256 bytes"),
    ],
)
def test_bad_names_say_which_rule(name: str, words: str) -> None:
    with pytest.raises(NameRuleError) as info:
        check_name(name)
    assert words in str(info.value)


def test_path_limit_counts_utf8_bytes() -> None:
    parents = ["_PUBLIC_ROOT_ID", "a" * 250, "b" * 250, "c" * 250, "d" * 100]
    used = len("/".join(parents)) + 1
    assert check_path(parents, "x" * (MAX_PATH_BYTES - used)) == "x" * (MAX_PATH_BYTES - used)
    with pytest.raises(NameRuleError, match="full path is 1025 bytes"):
        check_path(parents, "x" * (MAX_PATH_BYTES - used + 1))
    with pytest.raises(NameRuleError, match="full path"):
        check_path(parents, "ü" * ((MAX_PATH_BYTES - used) // 2 + 1))


def test_path_checks_the_name_too() -> None:
    with pytest.raises(NameRuleError, match=r"'\.\.'"):
        check_path(["root"], "..")


@given(st.text(max_size=40))
def test_check_name_raises_only_name_rule_error(name: str) -> None:
    try:
        result = check_name(name)
    except NameRuleError:
        return
    assert result
    assert "/" not in result
    assert "\x00" not in result
    assert result not in (".", "..")


@pytest.mark.parametrize("name", ["My model", "Modell für Öl", "x" * 255, "a-b_c (1)"])
def test_good_display_names(name: str) -> None:
    assert check_display_name(name) == name


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", "configuration name must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 256, "256 characters long; at most 255"),
        ("a\nb", "U+000A"),
        ("a\x00b", "NUL"),
        ("a\x7fb", "U+007F"),
        ("a\u2028b", "U+2028"),
    ],
)
def test_bad_display_names(name: str, words: str) -> None:
    with pytest.raises(NameRuleError) as info:
        check_display_name(name, "configuration name")
    assert words in str(info.value)


def test_a_huge_name_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(NameRuleError, match="at most 255"):
        check_name("d" * 16 * 1024 * 1024)
    assert time.monotonic() - started < 0.5


def test_names_that_shrink_under_nfc_are_measured_after_it() -> None:
    jamo = "\u1100\u1161\u11a8" * 84  # 84 syllables once composed: 252 bytes in UTF-8
    assert len(jamo.encode()) == 756
    assert len(check_name(jamo).encode()) == 252


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Zeppelin • report, v2 | draft", "Zeppelin _ report_ v2 _ draft"),
        ("naïve (1)", "naïve (1)"),
        ("a/b\\c", "a_b_c"),
        ("..", "_"),
        ("", "_"),
        ("日本" * 100, "日本" * 42 + "日"),
    ],
)
def test_a_name_made_from_any_text_is_a_valid_name(text: str, name: str) -> None:
    assert name_from(text) == name
    assert check_name(name) == name


@given(st.text(max_size=300))
def test_name_from_any_text_passes_the_rules(text: str) -> None:
    check_name(name_from(text))
