"""Pip requirement strings of a configuration: checked and normalized."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobmanager.domain.requirements import RequirementError, normalize_requirements


def test_normalized_in_order() -> None:
    assert normalize_requirements(
        [
            "  pandas  ",
            "Scikit_Learn[b,a] >=1.0,<2",
            'numpy<2; python_version<"3.12"',
            "numpy>=2 ; python_version >= '3.12'",
            "requests[socks]==2.32.3",
        ]
    ) == [
        "pandas",
        "scikit-learn[a,b]<2,>=1.0",
        'numpy<2; python_version < "3.12"',
        'numpy>=2; python_version >= "3.12"',
        "requests[socks]==2.32.3",
    ]


def test_empty_list() -> None:
    assert normalize_requirements([]) == []


def test_normalizing_is_idempotent() -> None:
    once = normalize_requirements(["Foo.Bar[X]  ~= 1.2", "baz!=3,>1; os_name=='posix'"])
    assert normalize_requirements(once) == once


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("-e .", "pip options"),
        ("--index-url https://example.org/simple", "pip options"),
        ("-r requirements.txt", "pip options"),
        ("https://example.org/pkg-1.0.whl", "URLs and local paths"),
        ("git+https://github.com/a/b.git", "URLs and local paths"),
        ("file:///tmp/pkg", "URLs and local paths"),
        ("./pkg", "URLs and local paths"),
        ("/opt/pkg.whl", "URLs and local paths"),
        ("~/pkg", "URLs and local paths"),
        ("C:\\pkg", "URLs and local paths"),
        ("pkg @ https://example.org/pkg-1.0.whl", "direct references"),
        ("pkg @ file:///tmp/pkg", "direct references"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("foo bar", "not a valid requirement"),
        ("foo>=", "not a valid requirement"),
        ("a==1; foo", "not a valid requirement"),
        ("x" * 1001, "longer than 1000"),
    ],
)
def test_bad_entries_are_named(entry: str, words: str) -> None:
    with pytest.raises(RequirementError) as info:
        normalize_requirements(["pandas", entry])
    assert info.value.entry == entry
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_non_strings_are_refused() -> None:
    with pytest.raises(RequirementError, match="must be a string"):
        normalize_requirements(["pandas", 3])


def test_same_project_twice_without_markers() -> None:
    with pytest.raises(RequirementError, match="'scikit-learn' is required twice"):
        normalize_requirements(["scikit-learn", "Scikit_Learn>=1"])


def test_too_many() -> None:
    with pytest.raises(RequirementError, match="more than 500"):
        normalize_requirements([f"p{i}" for i in range(501)])


@given(st.lists(st.text(max_size=30), max_size=4))
def test_arbitrary_text_raises_only_requirement_error(entries: list[str]) -> None:
    with contextlib.suppress(RequirementError):
        normalize_requirements(entries)
