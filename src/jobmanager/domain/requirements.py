"""Pip requirements of an environment configuration (SPEC §4 ``packages``).

Only named requirements from the package index are allowed: ``pandas>=2``,
``requests[socks]==2.32.3``, ``numpy<2; python_version<"3.12"``. Direct
references (``name @ https://...``), URLs, local paths and pip options
(``-e``, ``--index-url``, ``-r file``) are refused: they would let a
configuration fetch code from anywhere, and they defeat the cache of
environments, which is keyed by the normalized requirement strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

MAX_REQUIREMENTS = 500
MAX_REQUIREMENT_CHARS = 1_000
_BARE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # https://..., file:..., git+ssh:..., C:\


# A subset of what `normalize_requirements` accepts, as a pattern simple enough to
# generate from: a name and at most one version specifier (`pandas>=2.1`).
REQUIREMENT_PATTERN = (
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,30}[A-Za-z0-9])?"
    r"(?:(?:==|!=|<=|>=|<|>)[0-9]{1,4}(?:\.[0-9]{1,4}){0,3})?$"
)


class RequirementError(ValueError):
    """A requirement that cannot be used; ``entry`` is the text as given."""

    def __init__(self, entry: str, message: str) -> None:
        self.entry = entry
        self.message = message
        super().__init__(f"requirement {entry!r}: {message}")


def normalize_requirements(entries: Iterable[object]) -> list[str]:
    """Check pip requirement strings; answer them normalized, in the order given.

    Normalized: canonical project name (``Scikit_Learn`` → ``scikit-learn``),
    sorted extras and specifiers, marker spelled by ``packaging``. A project
    named twice without markers is refused: pip could not satisfy both.
    """
    result: list[str] = []
    unconditional: set[str] = set()
    for entry in entries:
        requirement = _parse(entry)
        name = canonicalize_name(requirement.name)
        if requirement.marker is None:
            if name in unconditional:
                raise RequirementError(str(entry), f"'{name}' is required twice")
            unconditional.add(name)
        requirement.name = name
        result.append(str(requirement))
        if len(result) > MAX_REQUIREMENTS:
            raise RequirementError(str(entry), f"more than {MAX_REQUIREMENTS} requirements")
    return result


def _parse(entry: object) -> Requirement:
    if not isinstance(entry, str):
        raise RequirementError(repr(entry), "must be a string")
    text = entry.strip()
    if not text:
        raise RequirementError(entry, "must not be empty")
    if len(text) > MAX_REQUIREMENT_CHARS:
        raise RequirementError(entry, f"longer than {MAX_REQUIREMENT_CHARS} characters")
    if text.startswith("-"):
        raise RequirementError(entry, "pip options are not allowed, only package requirements")
    if text.startswith((".", "/", "~", "\\")) or _BARE_URL.match(text):
        raise RequirementError(entry, "URLs and local paths are not allowed, only package names")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]
        raise RequirementError(entry, f"not a valid requirement: {reason}") from None
    if requirement.url:
        raise RequirementError(entry, "direct references (name @ URL) are not allowed")
    return requirement
