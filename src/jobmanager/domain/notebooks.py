"""Jupyter notebooks as Model Management takes them, and which of them a job can run.

A notebook is what nbformat reads, as papermill reads it: nbformat 4, or 3 (upgraded to
4 when it runs). Its structure is checked against nbformat's schema for its own version,
so a broken one is refused at upload naming what is wrong. A minor version newer than
this nbformat knows is checked as nbformat checks it, with the fields it does not know
allowed (papermill runs such a notebook); those fields become warnings on the version.

A job runs notebooks in Python only: the kernel and language a notebook's metadata names
are kept with its version, and `POST /jobs` refuses another language (`runnable_problem`).
A notebook that names no kernel runs on its configuration's Python, which plays the part
of papermill's `-k python3`; its version says so in a warning.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nbformat
from jsonschema.exceptions import ValidationError
from nbformat.validator import get_validator

PYTHON = "python"
DEFAULT_KERNEL = "python3"
READ_VERSIONS = (3, 4)  # nbformat majors a job runs (3 is upgraded, as papermill does)
_KNOWN_MINOR = nbformat.v4.nbformat_minor
_MESSAGE_CHARS = 200
_MAX_WARNED = 5  # unknown fields a warning names
_DISCRIMINATORS = ("cell_type", "output_type")
NO_KERNEL_WARNING = (
    "The notebook names no kernel (metadata.kernelspec.name): jobs run it on their "
    "configuration's Python, as papermill runs it with -k python3"
)


@dataclass(frozen=True)
class NotebookFacts:
    """What a notebook's metadata names: its kernel (`kernelspec.name`) and language
    (`kernelspec.language`, else `language_info.name`); and what its version warns of."""

    kernel: str | None = None
    language: str | None = None
    warnings: tuple[str, ...] = ()


def inspect_notebook(document: Mapping[str, Any]) -> NotebookFacts:
    """The facts of a notebook (a JSON object with an integer `nbformat`); ValueError
    naming what is wrong when nbformat cannot read it or its schema refuses it."""
    major, minor = document.get("nbformat"), document.get("nbformat_minor", 0)
    if major not in READ_VERSIONS:
        raise ValueError(f"nbformat {major} is not read here: a notebook is nbformat 4 (or 3)")
    if not isinstance(minor, int) or isinstance(minor, bool):
        raise ValueError(f"nbformat_minor: {_short(repr(minor))} is not an integer")
    checked = _with_cell_ids(with_kernel_name(document), minor)
    problem = _schema_problem(checked, major, minor)
    if problem is not None:
        raise ValueError(problem)
    if major != 4:
        _check_upgrade(checked)
    metadata = document.get("metadata") or {}
    kernelspec = metadata.get("kernelspec") or {}
    kernel = kernelspec.get("name") or None
    language = kernelspec.get("language") or (metadata.get("language_info") or {}).get("name")
    warnings = _unknown_fields(checked, minor) if major == 4 else []
    if kernel is None:
        warnings.append(NO_KERNEL_WARNING)
    return NotebookFacts(_text(kernel), _text(language), tuple(warnings))


def with_kernel_name(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The notebook as a job runs it: a kernelspec without the name nbformat's schema
    requires gets the default kernel's (`python3`), as the engine gives it."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return document
    kernelspec = metadata.get("kernelspec")
    if not isinstance(kernelspec, dict) or "name" in kernelspec:
        return document
    named = {"display_name": DEFAULT_KERNEL, **kernelspec, "name": DEFAULT_KERNEL}
    return {**document, "metadata": {**metadata, "kernelspec": named}}


def _with_cell_ids(document: Mapping[str, Any], minor: int) -> Mapping[str, Any]:
    """Cells without the id nbformat 4.5 requires get one, as nbformat's reader gives them
    (with a warning): that is no reason to refuse a notebook."""
    cells = document.get("cells")
    if minor < 5 or not isinstance(cells, list):
        return document
    with_ids = [
        {**cell, "id": f"cell-{number}"} if isinstance(cell, dict) and "id" not in cell else cell
        for number, cell in enumerate(cells)
    ]
    return {**document, "cells": with_ids}


def runnable_problem(kernel: str | None, language: str | None) -> str | None:
    """Why a job cannot run a notebook of this kernel and language, or None."""
    if language is None or language.strip().lower() == PYTHON:
        return None
    named = f"kernel {kernel!r} ({language})" if kernel else f"language {language!r}"
    return (
        f"the notebook's {named} is not Python: this installation runs Jupyter notebooks "
        "in Python only (their kernel is the configuration's Python 3 runtime) and "
        "Zeppelin notes"
    )


def _schema_problem(document: Mapping[str, Any], major: int, minor: int) -> str | None:
    """The first thing nbformat's schema finds wrong, as `path: message`, or None."""
    try:
        get_validator(major, minor).validate(document)  # fast; jsonschema says where
    except ValidationError:
        strict = get_validator(major, minor, name="jsonschema")
        error = next(iter(strict.iter_errors(document)), None)
        return None if error is None else _describe(_precise(error))
    return None


def _precise(error: ValidationError) -> ValidationError:
    """A `oneOf` error over cells or outputs says only that the item fits none: the error
    of the branch its own `cell_type` / `output_type` chooses is said instead."""
    while error.validator == "oneOf" and error.context:
        branches: dict[Any, list[ValidationError]] = defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        chosen = [b for b in branches.values() if not any(map(_rejects_type, b))]
        if len(chosen) != 1:
            rejected = [e for e in error.context if _rejects_type(e)]
            if len(rejected) == len(branches):  # no branch takes its type
                return _unknown_type(rejected)
            break
        error = chosen[0][0]
    return error


def _rejects_type(error: ValidationError) -> bool:
    path = error.relative_path
    return error.validator == "enum" and bool(path) and path[-1] in _DISCRIMINATORS


def _unknown_type(rejected: list[ValidationError]) -> ValidationError:
    allowed = ", ".join(repr(v) for e in rejected for v in e.validator_value)
    first = rejected[0]
    message = f"{_short(repr(first.instance))} is not one of {allowed}"
    return ValidationError(message, path=first.absolute_path)


def _describe(error: ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where or 'the notebook'}: {_short(error.message)}"


def _unknown_fields(document: Mapping[str, Any], minor: int) -> list[str]:
    """For a minor version newer than nbformat knows: what its latest schema would refuse."""
    if minor <= _KNOWN_MINOR:
        return []
    strict = get_validator(4, _KNOWN_MINOR, name="jsonschema")
    errors = itertools.islice(strict.iter_errors(document), _MAX_WARNED)
    found = [_describe(_precise(e)) for e in errors]
    if not found:
        return []
    return [
        f"nbformat 4.{minor} is newer than this service reads (4.{_KNOWN_MINOR}): what it "
        f"does not know was not checked ({'; '.join(found)})"
    ]


def _check_upgrade(document: Mapping[str, Any]) -> None:
    """An older notebook must upgrade to nbformat 4, as papermill reads it."""
    try:
        nbformat.reads(json.dumps(document), as_version=4)
    except Exception as error:  # nbformat's converters fail in many ways
        reason = _short(str(error))
        raise ValueError(f"nbformat cannot upgrade it to version 4 ({reason})") from None


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def _text(value: Any) -> str | None:
    return _short(value) if isinstance(value, str) and value.strip() else None
