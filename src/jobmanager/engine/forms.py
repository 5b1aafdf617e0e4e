"""Zeppelin's simple dynamic forms: `${name=default}` templates in md, SQL and `%sh(form=simple)`.

Syntax (Zeppelin's `Input`): `${name}`, `${name=default}`, `${name(Label)=default}`,
`${name=default,a|b(Label B)|c}` (a select), `${checkbox(delim):name=a|b,a|b|c}`,
`${password:name}`; `_${...}` is a hidden form, `$${...}` a note-scope form. Forms are
recorded as `Input.getInputForm` builds them; like Zeppelin, a simple form records no
param, except a checkbox, whose checked options are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobmanager.engine.kernel_runtime import form_shape

_TEMPLATE = re.compile(r"(_)?(\$\$?)\{([^{}]*)\}")
_NAME_LABEL = re.compile(r"^\s*([^()=]+?)\s*(?:\((.*)\))?\s*$")
_TYPE = re.compile(r"^\s*([^:()]*?)\s*(\([^()]*\))?\s*:(.*)$", re.DOTALL)


@dataclass(frozen=True)
class FormUse:
    """A form found in a script or made by `z`: where it lives, its Zeppelin shape, the
    value used, and whether Zeppelin records that value in the params."""

    note_scope: bool
    name: str
    form: dict[str, Any]
    value: Any
    record: bool = False


def _option(text: str) -> dict[str, Any]:
    match = _NAME_LABEL.match(text)
    if match and match.group(2) is not None:
        return {"value": match.group(1), "displayName": match.group(2)}
    return {"value": text}


def _parse(body: str, hidden: bool) -> dict[str, Any]:
    """A template's form, as Zeppelin's `Input.getInputForm` builds it."""
    head, eq, rest = body.partition("=")
    kind, argument = "", None
    if type_match := _TYPE.match(head):
        kind, head = type_match.group(1).strip(), type_match.group(3)
        if type_match.group(2) is not None:
            argument = type_match.group(2)[1:-1]
    match = _NAME_LABEL.match(head)
    name = match.group(1) if match else head.strip()
    label = match.group(2) if match and match.group(2) and match.group(2).strip() else name
    default: Any = rest if eq else None
    options = None
    if eq and "," in rest:
        default, options_text = rest.split(",", 1)
        options = [_option(o) for o in options_text.split("|")]
    if kind == "checkbox":
        checked = default.split("|") if isinstance(default, str) else []
        return form_shape("CheckBox", name, label, checked, options, hidden, argument)
    if kind == "password":
        return form_shape("Password", name, label, "", None, hidden, argument)
    type_ = "TextBox" if options is None else "Select"
    return form_shape(type_, name, label, default, options, hidden, argument)


def _checked(form: dict[str, Any], value: Any) -> tuple[list[Any], bool]:
    """The checked values that are options (all of them if none is), and whether there
    were valid ones: Zeppelin records only those."""
    checked = list(value) if isinstance(value, list | tuple) else [value]
    valid = {str(o["value"]) for o in form.get("options") or []}
    kept = [v for v in checked if str(v) in valid]
    return (kept, True) if kept else (checked, False)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _use(note_scope: bool, form: dict[str, Any], values: Mapping[str, Any]) -> tuple[FormUse, str]:
    """How a template is used: its value, and the text it is replaced by."""
    value = values.get(form["name"], form.get("defaultValue"))
    if form["type"] != "CheckBox":
        return FormUse(note_scope, form["name"], form, value), _as_text(value)
    checked, valid = _checked(form, value)
    delimiter = form.get("argument") or ","
    text = delimiter.join(_as_text(v) for v in checked)
    return FormUse(note_scope, form["name"], form, checked, record=valid), text


def substitute(
    script: str, params: Mapping[str, Any], note_params: Mapping[str, Any]
) -> tuple[str, list[FormUse]]:
    """Replace every template by its value (from `params`, else its default)."""
    uses: list[FormUse] = []

    def replace(match: re.Match[str]) -> str:
        note_scope = match.group(2) == "$$"
        form = _parse(match.group(3), hidden=match.group(1) is not None)
        use, text = _use(note_scope, form, note_params if note_scope else params)
        uses.append(use)
        return text

    return _TEMPLATE.sub(replace, script), uses
