"""Bare links in text, found by the rules of the autolink library flexmark uses (so
Zeppelin's `%md` links what these rules find): `scheme://...` URLs, `www.` addresses and
e-mail addresses. A link ends before whitespace, `<` or `>`; trailing `.,:;?!` and
unbalanced brackets or quotes are not part of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int, str]  # begin, end, href

_URL_STOP = {chr(c) for c in [*range(0x21), *range(0x7F, 0xA0)]} | {"<", ">"}
_NOT_AT_END = set("?!.,:;")
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_LOCAL_ATOM_EXTRA = set("!#$%&'*+-/=?^_`{|}~")
_BARE_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*://)(?:\s|$)")


def _ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


def url_end(text: str, begin: int) -> int:
    """The index of the last character of a link whose rest starts at `begin`."""
    last = begin
    depth = dict.fromkeys(_BRACKETS.values(), 0)
    open_quotes = {'"': False, "'": False}
    for i in range(begin, len(text)):
        char = text[i]
        if char in _URL_STOP:
            break
        if char in _NOT_AT_END:
            continue
        if char in _BRACKETS:
            depth[_BRACKETS[char]] += 1
        elif char in depth:
            depth[char] -= 1
            if depth[char] < 0:
                break
            last = i
        elif char in open_quotes:
            open_quotes[char] = not open_quotes[char]
            if not open_quotes[char]:
                last = i
        elif char != "/" or last == i - 1:
            last = i
    return last


def _url(text: str, colon: int, rewind: int) -> Span | None:
    if colon + 3 >= len(text) or text[colon + 1 : colon + 3] != "//":
        return None
    first, digit = -1, -1
    for i in range(colon - 1, rewind - 1, -1):
        char = text[i]
        if char.isascii() and char.isalpha():
            first = i
        elif char.isascii() and char.isdigit():
            digit = i
        elif char not in "+-.":
            break
    if first == -1 or (first > 0 and first - 1 == digit):
        return None  # no scheme, or one glued to a number ("1abc://")
    end = url_end(text, colon + 3) + 1
    return first, end, text[first:end]


def _www(text: str, at: int, rewind: int) -> Span | None:
    after_dot = at + 4
    if after_dot >= len(text) or text[at + 1 : at + 4] != "ww.":
        return None
    if at != rewind and (text[at - 1] == "." or _ascii_alnum(text[at - 1])):
        return None
    last = url_end(text, after_dot)
    if "." not in text[after_dot + 1 : last]:
        return None  # "www.example" is not an address, "www.example.com" is
    return at, last + 1, "http://" + text[at : last + 1]


def _local_part_start(text: str, before: int, rewind: int) -> int:
    first, boundary = -1, True
    for i in range(before, rewind - 1, -1):
        char = text[i]
        if _ascii_alnum(char) or ord(char) >= 0x80 or char in _LOCAL_ATOM_EXTRA:
            first, boundary = i, False
        elif char == "." and not boundary:
            boundary = True
        else:
            break
    return first


def _domain_end(text: str, begin: int) -> int:
    last, first_dot = -1, -1
    starting, can_end = True, False
    for i in range(begin, len(text)):
        char = text[i]
        allowed = _ascii_alnum(char) or ord(char) >= 0x80
        if starting:
            if not allowed:
                break
            last, starting, can_end = i, False, True
        elif char == ".":
            if not can_end:
                break
            starting = True
            first_dot = i if first_dot == -1 else first_dot
        elif char == "-":
            can_end = False
        elif allowed:
            last, can_end = i, True
        else:
            break
    return last if 0 <= first_dot < last else -1


def _email(text: str, at: int, rewind: int) -> Span | None:
    first = _local_part_start(text, at - 1, rewind)
    last = _domain_end(text, at + 1) if first != -1 else -1
    if last == -1:
        return None
    return first, last + 1, "mailto:" + text[first : last + 1]


_SCANNERS = {":": _url, "w": _www, "@": _email}


def _scanned(text: str) -> Iterator[Span]:
    index = rewind = 0
    while index < len(text):
        scanner = _SCANNERS.get(text[index])
        span = scanner(text, index, rewind) if scanner else None
        if span is None:
            index += 1
            continue
        yield span
        index = rewind = span[1]


def _with_bare_schemes(text: str, spans: list[Span]) -> list[Span]:
    """A scheme alone at the end of the text (`see http://`) is linked too."""
    for match in _BARE_SCHEME.finditer(text):
        start, end = match.span(1)
        if any(begin <= start and end <= stop for begin, stop, _ in spans):
            continue
        at = next((i for i, span in enumerate(spans) if end < span[0]), len(spans))
        spans.insert(at, (start, end, match.group(1)))
    return spans


def link_spans(text: str) -> list[Span]:
    """Each link in `text` as (begin, end, href), in order, trailing whitespace trimmed."""
    spans = []
    for begin, end, href in _with_bare_schemes(text, list(_scanned(text))):
        trimmed = len(text[begin:end].rstrip())
        spans.append((begin, begin + trimmed, href[: len(href) - (end - begin - trimmed)]))
    return spans
