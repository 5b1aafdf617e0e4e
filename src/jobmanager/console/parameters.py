"""The parameters a model asks for, to prefill a form, and the form's values read back
with their types.

A Jupyter notebook names them in the cell tagged `parameters` (papermill's convention):
each `name = literal` there; a value typed in the form is read as the type of that
literal (`10` an int, `"10"` a str, `[1, 2]` a list: `domain/parameter_types.read_as`),
so an unchanged form sends what the cell holds. A Zeppelin note names them as forms:
`${name=default}` templates in a paragraph's text (parsed as the engine parses them,
`engine/forms.py`), `z.textbox("name", "default")` and its kin in Python paragraphs, and
the forms and params a note saved by Zeppelin carries in its paragraphs' settings; their
values stay text, as in Zeppelin. A type the model version declares in `io.input` wins
over both.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from jobmanager.domain.parameter_types import (
    Declared,
    FormType,
    as_form_text,
    declared_type,
    literal_type,
    read_as,
)
from jobmanager.domain.payload import PayloadKind
from jobmanager.engine.forms import substitute

_Z_FORM = re.compile(
    r"""z\.(?:textbox|input|select|checkbox|password|noteTextbox|noteSelect|noteCheckbox)\(\s*
        (?:name\s*=\s*)?(['"])(?P<name>[^'"]+)\1
        (?:\s*,\s*(?:defaultValue\s*=\s*)?(['"])(?P<default>[^'"]*)\3)?""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class FormParameter:
    """One field of a parameters form: the parameter's name, its value as the field shows
    it, the type the text is read back as (`parameter_types.FormType`), an enum's
    choices, and whether the model gives it a value (a blank field of one it does not
    give is not sent, so the model's own default or a `required` check applies)."""

    name: str
    text: str
    kind: FormType = "str"
    choices: tuple[Any, ...] = ()
    given: bool = True


@dataclass(frozen=True)
class ParameterForm:
    """The fields of a model's parameters, in order, and how a field the model does not
    name is read (a notebook's as papermill's `-p`, a note's as text)."""

    fields: tuple[FormParameter, ...] = ()
    other_kind: FormType = "str"

    def read(self, sent: Mapping[str, str]) -> dict[str, Any]:
        """The form's fields as typed values; InvalidInput names the first that is not
        of its parameter's type."""
        known = {field.name: field for field in self.fields}
        values = {}
        for name, text in sent.items():
            field = known.get(name, FormParameter(name, "", self.other_kind, given=False))
            if not text and not field.given:
                continue
            values[name] = read_as(text, field.kind, name, field.choices)
        return values

    def showing(self, values: Mapping[str, Any]) -> ParameterForm:
        """The form with these values in its fields (a job's, to run it again); a value
        for a parameter the model does not name gets a field of its own."""
        fields = [
            replace(f, text=as_form_text(values[f.name]), given=True) if f.name in values else f
            for f in self.fields
        ]
        named = {f.name for f in self.fields}
        fields += [
            FormParameter(name, as_form_text(value), _kind_of(value, self.other_kind))
            for name, value in values.items()
            if name not in named
        ]
        return replace(self, fields=tuple(fields))


def _kind_of(value: Any, other_kind: FormType) -> FormType:
    return "str" if other_kind == "str" and isinstance(value, str) else literal_type(value)


def parameter_form(
    payload: bytes, kind: PayloadKind | str, declared: Iterable[Declared] = ()
) -> ParameterForm:
    """The form of a model version's parameters: its payload's, typed as its `io.input`
    declares them where it does (`parameter_types.declared_in`). A payload that is
    neither a notebook nor a note, or that cannot be read, names none."""
    found = _payload_parameters(payload, kind)
    other: FormType = "any" if kind == "jupyter" else "str"
    for parameter in declared:
        field = found.get(parameter.name, FormParameter(parameter.name, "", given=False))
        found[parameter.name] = replace(
            field, kind=declared_type(parameter), choices=parameter.values
        )
    return ParameterForm(tuple(found.values()), other)


def _payload_parameters(payload: bytes, kind: PayloadKind | str) -> dict[str, FormParameter]:
    try:
        document = json.loads(payload.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    if kind == "jupyter":
        return _notebook_parameters(document)
    if kind == "zeppelin":
        forms = _note_parameters(document)
        return {name: FormParameter(name, text) for name, text in forms.items()}
    return {}


def _notebook_parameters(notebook: dict[str, Any]) -> dict[str, FormParameter]:
    for cell in notebook.get("cells") or []:
        if isinstance(cell, dict) and "parameters" in (cell.get("metadata") or {}).get("tags", []):
            return _assignments(_text(cell.get("source")))
    return {}


def _assignments(source: str) -> dict[str, FormParameter]:
    """`name = literal` statements of a cell, each typed by its literal (others are
    ignored)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, FormParameter] = {}
    for statement in tree.body:
        target = _assigned_name(statement)
        if target is None:
            continue
        try:
            value = ast.literal_eval(statement.value)  # type: ignore[attr-defined]
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        found[target] = FormParameter(target, as_form_text(value), literal_type(value))
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
