"""What a model payload is, read from its content (never from its name or type).

- ``zeppelin``: a JSON object with a ``paragraphs`` list of objects: a
  Zeppelin 0.9+ ``.zpln`` or a legacy ``note.json``;
- ``jupyter``: a JSON object with a ``cells`` list of objects and
  ``nbformat`` 4;
- ``other``: anything else, including non-JSON, invalid UTF-8, JSON cut
  short (the caller may pass only the first MiBs of a large payload), and
  ``{"empty": "model"}``, the official client's template.
"""

from __future__ import annotations

import json
from typing import Any, Literal

PayloadKind = Literal["zeppelin", "jupyter", "other"]
_WHITESPACE = b" \t\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"


def detect_payload_kind(head: bytes) -> PayloadKind:
    """Classify a payload from its bytes (the whole payload, or its head)."""
    if not head.lstrip(_WHITESPACE).removeprefix(_UTF8_BOM).lstrip(_WHITESPACE).startswith(b"{"):
        return "other"  # cheap refusal before decoding a large binary payload
    document = _load_object(head)
    if document is None:
        return "other"
    if _is_list_of_objects(document.get("cells")) and _is_four(document.get("nbformat")):
        return "jupyter"
    if _is_list_of_objects(document.get("paragraphs")):
        return "zeppelin"
    return "other"


def _load_object(data: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _is_list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _is_four(value: Any) -> bool:
    # bool is an int subclass, and 4.0 == 4: accept only the integer 4.
    return type(value) is int and value == 4
