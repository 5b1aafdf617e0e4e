"""Zeppelin's simple dynamic forms: `${name=default}` templates in md, SQL and `%sh(form=simple)`.

Syntax (Zeppelin's `Input`): `${name}`, `${name=default}`, `${name(Label)=default}`,
`${name=default,a|b(Label B)|c}` (a select), `${checkbox(delim):name=a|b,a|b|c}`,
`${password:name}`; `_${...}` is a hidden form, `$${...}` a note-scope form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobmanager.engine.kernel_runtime import form_shape

_TEMPLATE = re.compile(r"(_)?(\$\$?)\{([^{}]*)\}")
_NAME_LABEL = re.compile(r"^\s*([^()=]+?)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class FormUse:
    """A form found in a script: where it lives, its Zeppelin shape and the value used."""

    note_scope: bool
    name: str
    form: dict[str, Any]
    value: Any


def _option(text: str) -> dict[str, Any]:
    match = _NAME_LABEL.match(text)
    if match and match.group(2) is not None:
        return {"value": match.group(1), "displayName": match.group(2)}
    return {"value": text.strip()}


def _parse(body: str, hidden: bool) -> tuple[dict[str, Any], str]:
    """A form's Zeppelin shape, and its checkbox delimiter."""
    kind, delimiter = "", ","
    head, eq, rest = body.partition("=")
    if ":" in head:
        kind, _, head = head.partition(":")
        kind_match = re.match(r"^\s*(\w+)\s*(?:\((.*)\))?\s*$", kind)
        if kind_match:
            kind = kind_match.group(1).lower()
            if kind_match.group(2) is not None:
                delimiter = kind_match.group(2)
    match = _NAME_LABEL.match(head)
    name = match.group(1) if match else head.strip()
    label = match.group(2) if match and match.group(2) is not None else name
    default_text, comma, options_text = rest.partition(",") if eq else ("", "", "")
    options = [_option(o) for o in options_text.split("|")] if comma else []
    type_ = "Select" if options else "TextBox"
    default: str | list[str] = default_text
    if kind == "checkbox":
        type_, default = "CheckBox", [v for v in default_text.split("|") if v]
    elif kind == "password":
        type_ = "Password"
    form = form_shape(type_, name, label, default, options, hidden)
    return form, delimiter


def _as_text(value: Any, delimiter: str) -> str:
    if isinstance(value, list | tuple):
        return delimiter.join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def substitute(
    script: str, params: Mapping[str, Any], note_params: Mapping[str, Any]
) -> tuple[str, list[FormUse]]:
    """Replace every template by its value (from `params`, else its default)."""
    uses: list[FormUse] = []

    def replace(match: re.Match[str]) -> str:
        note_scope = match.group(2) == "$$"
        form, delimiter = _parse(match.group(3), hidden=match.group(1) is not None)
        values = note_params if note_scope else params
        value = values.get(form["name"], form.get("defaultValue", ""))
        uses.append(FormUse(note_scope, form["name"], form, value))
        return _as_text(value, delimiter)

    return _TEMPLATE.sub(replace, script), uses
