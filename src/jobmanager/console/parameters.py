"""The parameters a model asks for, with their defaults, to prefill the submit form.

A Jupyter notebook names them in the cell tagged `parameters` (papermill's convention):
each `name = literal` there. A Zeppelin note names them as forms: `${name=default}`
templates in a paragraph's text (parsed as the engine parses them, `engine/forms.py`),
`z.textbox("name", "default")` and its kin in Python paragraphs, and the forms and
params a note saved by Zeppelin carries in its paragraphs' settings.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from jobmanager.domain.payload import PayloadKind
from jobmanager.engine.forms import substitute

_Z_FORM = re.compile(
    r"""z\.(?:textbox|input|select|checkbox|password|noteTextbox|noteSelect|noteCheckbox)\(\s*
        (?:name\s*=\s*)?(['"])(?P<name>[^'"]+)\1
        (?:\s*,\s*(?:defaultValue\s*=\s*)?(['"])(?P<default>[^'"]*)\3)?""",
    re.VERBOSE,
)


def model_parameters(payload: bytes, kind: PayloadKind | str) -> dict[str, str]:
    """The model's parameters and their defaults as text, in the order they appear; {}
    for a payload that is neither a notebook nor a note, or that cannot be read."""
    try:
        document = json.loads(payload.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    if kind == "jupyter":
        return _notebook_parameters(document)
    if kind == "zeppelin":
        return _note_parameters(document)
    return {}


def _notebook_parameters(notebook: dict[str, Any]) -> dict[str, str]:
    for cell in notebook.get("cells") or []:
        if isinstance(cell, dict) and "parameters" in (cell.get("metadata") or {}).get("tags", []):
            return _assignments(_text(cell.get("source")))
    return {}


def _assignments(source: str) -> dict[str, str]:
    """`name = literal` statements of a cell (others are ignored)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, str] = {}
    for statement in tree.body:
        target = _assigned_name(statement)
        if target is None:
            continue
        try:
            value = ast.literal_eval(statement.value)  # type: ignore[attr-defined]
        except ValueError:
            continue
        found[target] = value if isinstance(value, str) else json.dumps(value)
    return found


def _assigned_name(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target = statement.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def _note_parameters(note: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for paragraph in note.get("paragraphs") or []:
        if not isinstance(paragraph, dict):
            continue
        text = _text(paragraph.get("text"))
        _, uses = substitute(text, {}, {})
        for use in uses:
            found.setdefault(use.name, _as_text(use.value))
        for match in _Z_FORM.finditer(text):
            found.setdefault(match["name"], match["default"] or "")
        settings = paragraph.get("settings") or {}
        for name, form in (settings.get("forms") or {}).items():
            default = form.get("defaultValue") if isinstance(form, dict) else None
            found.setdefault(str(name), _as_text(default))
        for name, value in (settings.get("params") or {}).items():
            found[str(name)] = _as_text(value)
    return found


def _text(value: Any) -> str:
    """A notebook's source (a string or a list of lines) or a note's text."""
    if isinstance(value, list):
        return "".join(str(line) for line in value)
    return value if isinstance(value, str) else ""


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(str(item) for item in value)
    return str(value)
