"""Name rules: Data Exchange file and folder names (SPEC §3), display names.

Data Exchange names may hold letters, digits, ``-``, ``_``, ``.``, ``(``,
``)`` and the space character. The original service lists the letters as
``[a-zA-Z]``; this one also accepts other Unicode letters and digits (its path
limit is counted in UTF-8 bytes for that reason), normalized to NFC so that
two spellings of one name are one name. A name is never empty, ``.`` or
``..``; a full path is at most 1024 bytes, and a single name at most 255
bytes, because the engine stages folders onto a local disk, whose file
systems refuse longer names.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Sequence

MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255
MAX_DISPLAY_NAME_CHARS = 255
ALLOWED_PUNCTUATION = frozenset("-_.() ")
_ALLOWED_TEXT = "letters, digits, '-', '_', '.', '(', ')' and space"


# What `check_display_name` accepts, as a pattern (with at most MAX_DISPLAY_NAME_CHARS
# characters): something besides white space, and no control or line and paragraph
# separator character. (Nor a lone surrogate, which no JSON text of a name holds: the
# pattern leaves them out, as regex engines of other languages refuse them.)
_NOT_IN_DISPLAY_NAMES = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
DISPLAY_NAME_PATTERN = (
    rf"^[^{_NOT_IN_DISPLAY_NAMES}]*[^\s{_NOT_IN_DISPLAY_NAMES}][^{_NOT_IN_DISPLAY_NAMES}]*$"
)


@functools.cache
def entry_name_pattern(up_to: int = sys.maxunicode) -> str:
    """`check_name`'s rules as a pattern (with at most MAX_NAME_BYTES characters; the
    limit in UTF-8 bytes it cannot say): allowed characters only, not `.` nor `..`.
    Made once, when first asked (it takes a scan of every character). `up_to`: the
    same rules over the characters up to that code point only (a subset of the names,
    for generators that find the full class too large)."""
    allowed = _character_class(lambda char: ord(char) <= up_to and _allowed(char))
    not_dot = _character_class(lambda char: ord(char) <= up_to and char != "." and _allowed(char))
    return rf"^(?:{not_dot}{allowed}*|\.{not_dot}{allowed}*|\.\.{allowed}+)$"


def _character_class(wanted: Callable[[str], bool]) -> str:
    """A regex class of every character `wanted` accepts (surrogates aside), as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF or not wanted(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "[" + "".join(_class_range(low, high) for low, high in ranges) + "]"


def _class_range(low: int, high: int) -> str:
    first, last = re.escape(chr(low)), re.escape(chr(high))
    return first if low == high else f"{first}-{last}"


class NameRuleError(ValueError):
    """A name breaking a rule; the message says which."""


def check_name(name: str) -> str:
    """Check one Data Exchange file or folder name; answer it NFC-normalized."""
    raw_size = len(name.encode("utf-8", "surrogatepass"))
    # NFC shrinks UTF-8 text at most threefold (Hangul jamo): a name this long is refused
    # before its characters are read one by one.
    if raw_size > 4 * MAX_NAME_BYTES:
        raise NameRuleError(f"name is {raw_size} bytes in UTF-8; at most {MAX_NAME_BYTES}")
    normal = unicodedata.normalize("NFC", name)
    if not normal:
        raise NameRuleError("name must not be empty")
    if normal in (".", ".."):
        raise NameRuleError(f"name must not be '{normal}'")
    for char in normal:
        if not _allowed(char):
            raise NameRuleError(
                f"name must not contain {_describe(char)}; allowed: {_ALLOWED_TEXT}"
            )
    size = len(normal.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise NameRuleError(f"name is {size} bytes in UTF-8; at most {MAX_NAME_BYTES}")
    return normal


def check_path(parent_names: Sequence[str], name: str) -> str:
    """Check ``name`` as a child of the folders ``parent_names`` (root first).

    Answers the normalized name; the full path is the names joined with ``/``,
    and its UTF-8 length is what the 1024-byte limit counts.
    """
    normal = check_name(name)
    path = "/".join([*parent_names, normal])
    size = len(path.encode("utf-8"))
    if size > MAX_PATH_BYTES:
        raise NameRuleError(f"full path is {size} bytes in UTF-8; at most {MAX_PATH_BYTES}")
    return normal


def check_display_name(name: str, what: str = "name") -> str:
    """Check a model, version or configuration name: not blank, short, no control characters.

    ``what`` names the field in the message (e.g. ``"configuration name"``).
    """
    if not name.strip():
        raise NameRuleError(f"{what} must not be empty")
    if len(name) > MAX_DISPLAY_NAME_CHARS:
        raise NameRuleError(
            f"{what} is {len(name)} characters long; at most {MAX_DISPLAY_NAME_CHARS}"
        )
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\u2028\u2029":
            raise NameRuleError(f"{what} must not contain {_describe(char)}")
    return name


def name_from(text: str, max_bytes: int = MAX_NAME_BYTES) -> str:
    """A Data Exchange name made of any text (a notebook's file name, a model's display
    name): each character a name may not hold becomes ``_``, cut to ``max_bytes``."""
    kept = "".join(c if _allowed(c) else "_" for c in unicodedata.normalize("NFC", text))
    cut = kept.encode("utf-8")[:max_bytes].decode("utf-8", "ignore")
    return cut if cut.strip(" .") else "_"


def _allowed(char: str) -> bool:
    if char in ALLOWED_PUNCTUATION:
        return True
    category = unicodedata.category(char)
    # Letters (L*), decimal digits (Nd), and the combining marks (M*) of letters
    # that have no precomposed form.
    return category[0] in "LM" or category == "Nd"


def _describe(char: str) -> str:
    if char == "/":
        return "'/'"
    if char == "\x00":
        return "a NUL character"
    if unicodedata.category(char)[0] in "CZ" and char != " ":
        return f"the control or space character U+{ord(char):04X}"
    return f"'{char}'"
