"""What a model payload is, read from its content (never from its name or type).

- ``zeppelin``: a JSON object with a ``paragraphs`` list of objects: a
  Zeppelin 0.9+ ``.zpln`` or a legacy ``note.json``;
- ``jupyter``: a JSON object with an integer ``nbformat`` of 4 and a ``cells`` list
  of objects, or of 3 and a ``worksheets`` list of objects (papermill upgrades it);
  it must be a notebook nbformat reads (`domain.notebooks`), or it is refused;
- ``other``: anything else, including non-JSON, invalid UTF-8, JSON cut
  short (the caller may pass only the first MiBs of a large payload), and
  ``{"empty": "model"}``, the official client's template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from jobmanager.domain.errors import InvalidInput
from jobmanager.domain.notebooks import NotebookFacts, inspect_notebook

PayloadKind = Literal["zeppelin", "jupyter", "other"]
_WHITESPACE = b" \t\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"
# The list of a notebook's cells, by nbformat major version.
_CELL_LISTS = {4: "cells", 3: "worksheets"}


@dataclass(frozen=True)
class PayloadFacts:
    """A payload's kind and, for a notebook, what its metadata names (`NotebookFacts`)."""

    kind: PayloadKind
    notebook: NotebookFacts = field(default_factory=NotebookFacts)


def detect_payload_kind(head: bytes) -> PayloadKind:
    """Classify a payload from its bytes (the whole payload, or its head)."""
    return _classify(_load_object(head))


def inspect_payload(head: bytes, field: str = "file") -> PayloadFacts:
    """A payload's kind and facts; a notebook nbformat cannot read, or whose structure
    its schema refuses, is bad input (InvalidInput naming `field` and what is wrong)."""
    document = _load_object(head)
    kind = _classify(document)
    if kind != "jupyter" or document is None:
        return PayloadFacts(kind)
    try:
        return PayloadFacts(kind, inspect_notebook(document))
    except ValueError as error:
        raise InvalidInput(f"{field}: not a valid Jupyter notebook: {error}") from None


def _classify(document: dict[str, Any] | None) -> PayloadKind:
    if document is None:
        return "other"
    major = document.get("nbformat")
    # bool is an int subclass, and 4.0 == 4: accept only an integer.
    if type(major) is int and _is_list_of_objects(document.get(_CELL_LISTS.get(major, ""))):
        return "jupyter"
    if _is_list_of_objects(document.get("paragraphs")):
        return "zeppelin"
    return "other"


def _load_object(data: bytes) -> dict[str, Any] | None:
    if not data.lstrip(_WHITESPACE).removeprefix(_UTF8_BOM).lstrip(_WHITESPACE).startswith(b"{"):
        return None  # cheap refusal before decoding a large binary payload
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _is_list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)
