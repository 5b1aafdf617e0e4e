"""The name and requirement rules as the OpenAPI document states them (patterns) say
what the checks accept: for every character, and for the names that only the whole name
decides (empty, dots, white space)."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobmanager.domain.names import (
    DISPLAY_NAME_PATTERN,
    NameRuleError,
    check_display_name,
    check_name,
    entry_name_pattern,
)
from jobmanager.domain.requirements import REQUIREMENT_PATTERN, normalize_requirements


def accepted(check: object, text: str) -> bool:
    assert callable(check)
    try:
        check(text)
    except NameRuleError:
        return False
    return True


WHOLE_NAMES = ["", ".", "..", "...", ".a", "..a", "a.", " ", " \t ", " a ", "a\n", "\u3000"]


def probes() -> list[str]:
    characters = (chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    return [*characters, *WHOLE_NAMES]


@pytest.mark.parametrize(
    ("pattern", "check"),
    [(entry_name_pattern(), check_name), (DISPLAY_NAME_PATTERN, check_display_name)],
)
def test_a_name_pattern_accepts_what_its_check_accepts(pattern: str, check: object) -> None:
    rule = re.compile(pattern)
    wrong = [t for t in probes() if bool(rule.fullmatch(t)) != accepted(check, t)]
    assert wrong == []


@given(st.from_regex(REQUIREMENT_PATTERN, fullmatch=True))
def test_every_requirement_the_pattern_allows_is_accepted(text: str) -> None:
    assert normalize_requirements([text])
