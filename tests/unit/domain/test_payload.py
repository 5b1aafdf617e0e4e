"""Payload kind from content: Zeppelin note, Jupyter notebook, or other."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobmanager.domain.payload import detect_payload_kind

ZPLN = {  # Zeppelin 0.9+ .zpln, abridged
    "paragraphs": [
        {"text": "%python\nprint(1)", "config": {"enabled": True}, "id": "p1"},
        {"text": "%md\n# Title", "config": {}, "id": "p2"},
    ],
    "name": "note",
    "id": "2F8KN6TKK",
    "defaultInterpreterGroup": "python",
    "version": "0.10.1",
    "noteParams": {},
    "noteForms": {},
    "angularObjects": {},
    "config": {"isZeppelinNotebookCronEnable": False},
    "info": {},
}
LEGACY_NOTE = {"paragraphs": [{"text": "%pyspark\nx = 1"}], "name": "n", "id": "2A", "info": {}}
IPYNB = {
    "cells": [{"cell_type": "code", "source": ["print(1)"], "metadata": {}, "outputs": []}],
    "metadata": {"kernelspec": {"name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def encode(document: object, indent: int | None = 1) -> bytes:
    return json.dumps(document, indent=indent).encode()


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (encode(ZPLN), "zeppelin"),
        (encode(LEGACY_NOTE, None), "zeppelin"),
        (encode({"paragraphs": []}), "zeppelin"),
        (encode(IPYNB), "jupyter"),
        (encode({**IPYNB, "cells": []}), "jupyter"),
        (b"\xef\xbb\xbf" + encode(IPYNB), "jupyter"),
        (b"\n\t  " + encode(ZPLN), "zeppelin"),
        (encode({"empty": "model"}), "other"),
        (encode({**IPYNB, "nbformat": 3}), "other"),
        (encode({**IPYNB, "nbformat": "4"}), "other"),
        (encode({**IPYNB, "nbformat": 4.0}), "other"),
        (encode({**IPYNB, "nbformat": True}), "other"),
        (encode({"worksheets": [{"cells": []}], "nbformat": 3}), "jupyter"),  # papermill reads it
        (encode({"paragraphs": "none"}), "other"),
        (encode({"paragraphs": [1, 2]}), "other"),
        (encode({"cells": [{}]}), "other"),
        (encode([ZPLN]), "other"),
        (b"", "other"),
        (b"   ", "other"),
        (b"null", "other"),
        (b"PK\x03\x04 a zip file", "other"),
        (b"\x89PNG\r\n", "other"),
        (b'{"paragraphs": [], "name": "\xff\xfe"}', "other"),
        (b"print('hello')\n", "other"),
    ],
)
def test_kinds(payload: bytes, kind: str) -> None:
    assert detect_payload_kind(payload) == kind


def test_utf16_is_other() -> None:
    assert detect_payload_kind(json.dumps(IPYNB).encode("utf-16")) == "other"


@pytest.mark.parametrize("document", [ZPLN, IPYNB])
def test_truncated_json_is_other(document: object) -> None:
    data = encode(document)
    for cut in range(1, len(data)):
        assert detect_payload_kind(data[:cut]) == "other"


def test_deep_nesting_is_other() -> None:
    assert detect_payload_kind(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}") == "other"


def test_large_notebook() -> None:
    cell = {"cell_type": "code", "source": ["x" * 1000], "metadata": {}, "outputs": []}
    big = {**IPYNB, "cells": [cell] * 5_000}
    assert detect_payload_kind(encode(big)) == "jupyter"


@given(st.binary(max_size=200))
def test_any_bytes_give_a_kind(data: bytes) -> None:
    assert detect_payload_kind(data) in ("zeppelin", "jupyter", "other")
