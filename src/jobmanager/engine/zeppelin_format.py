"""Check that a note file has the shape Zeppelin writes (used on every executed note in tests)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobmanager.engine.note import NOTE_KEY_ORDER, PARAGRAPH_KEY_ORDER, gson_json
from jobmanager.engine.output import RESULT_TYPES

STATUSES = ("UNKNOWN", "READY", "PENDING", "RUNNING", "FINISHED", "ERROR", "ABORT")
RESULT_CODES = ("SUCCESS", "INCOMPLETE", "ERROR", "KEEP_PREVIOUS_RESULT")
FORM_TYPES = ("TextBox", "Select", "CheckBox", "Password")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


def _order_problems(where: str, keys: Sequence[str], order: Sequence[str]) -> list[str]:
    known = [k for k in keys if k in order]
    expected = sorted(known, key=order.index)
    return [] if known == expected else [f"{where}: keys {known} are not in the order {expected}"]


def _result_problems(where: str, results: Any) -> list[str]:
    if not isinstance(results, dict) or list(results) != ["code", "msg"]:
        return [f"{where}: results must be {{code, msg}}"]
    problems = []
    if results["code"] not in RESULT_CODES:
        problems.append(f"{where}: result code {results['code']!r}")
    for message in results["msg"]:
        if not isinstance(message, dict) or list(message) != ["type", "data"]:
            problems.append(f"{where}: a message must be {{type, data}}")
        elif message["type"] not in RESULT_TYPES or not isinstance(message["data"], str):
            problems.append(f"{where}: bad message type {message['type']!r}")
    return problems


def _form_problems(where: str, settings: Any) -> list[str]:
    if not isinstance(settings, dict) or not {"params", "forms"} <= set(settings):
        return [f"{where}: settings must have params and forms"]
    problems = []
    for name, form in settings["forms"].items():
        if form.get("type") not in FORM_TYPES or form.get("name") != name:
            problems.append(f"{where}: form {name!r} is not a Zeppelin form")
        elif next(iter(form)) != "type" or "hidden" not in form:
            problems.append(f"{where}: form {name!r} lacks Zeppelin's shape")
    return problems


def _paragraph_problems(index: int, paragraph: Any) -> list[str]:
    where = f"paragraph {index}"
    if not isinstance(paragraph, dict):
        return [f"{where}: not an object"]
    problems = _order_problems(where, list(paragraph), PARAGRAPH_KEY_ORDER)
    if paragraph.get("status") not in STATUSES:
        problems.append(f"{where}: status {paragraph.get('status')!r}")
    for key in ("dateUpdated", "dateCreated", "dateStarted", "dateFinished"):
        if key in paragraph and not _DATE.match(str(paragraph[key])):
            problems.append(f"{where}: {key} {paragraph[key]!r} is not yyyy-MM-dd HH:mm:ss.SSS")
    if "results" in paragraph:
        problems += _result_problems(where, paragraph["results"])
    if "settings" in paragraph:
        problems += _form_problems(where, paragraph["settings"])
    return problems


def check_note_text(text: str) -> list[str]:
    """Problems that keep `text` from being a note as Zeppelin writes it ([] if none)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("paragraphs"), list):
        return ["no paragraphs list"]
    problems = _order_problems("note", list(data), NOTE_KEY_ORDER)
    if text != gson_json(data):
        problems.append(
            "not written as Gson's pretty printer writes (2-space indent, HTML-safe escapes, "
            "no final newline)"
        )
    for index, paragraph in enumerate(data["paragraphs"], start=1):
        problems += _paragraph_problems(index, paragraph)
    return problems


def check_note_file(path: Path) -> list[str]:
    return check_note_text(path.read_text(encoding="utf-8"))
