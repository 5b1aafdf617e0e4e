"""Schemathesis hooks of the fuzz test (`test_fuzz.py`): what the OpenAPI document
cannot say, given to the requests that should be accepted.

A JSON schema says what a body looks like; it cannot say which ids exist (a job names a
model, its version, a configuration and folders; a folder or file names its parent), the
grammar of a cron expression, or that a project is named once among `packages` under
any spelling. A request that breaks one of those is refused with 400 naming the field,
as the SPEC wants. So in a request generated as valid (never in one generated to be
refused), this hook puts ids of resources the test made, a real cron expression and
one entry per project; everything else stays as generated.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# Field -> a value that exists (set by the test).
REAL: dict[str, str] = {
    **json.loads(os.environ.get("JOBMANAGER_FUZZ_IDS", "{}")),
    "parentId": "_PUBLIC_ROOT_ID",
    "scheduleString": "0 0 1 1 *",
}


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative or not isinstance(case.body, dict):
        return case
    for document in (case.body, case.body.get("metadata")):
        if isinstance(document, dict):
            _make_real(document)
    return case


def _make_real(document: dict[str, Any]) -> None:
    for field, value in REAL.items():
        if isinstance(document.get(field), str):
            document[field] = value
    if isinstance(document.get("packages"), list):
        document["packages"] = _one_per_project(document["packages"])


def _one_per_project(packages: list[Any]) -> list[Any]:
    seen: set[str] = set()
    kept = []
    for entry in packages:
        name = _project(entry)
        if name is None or name not in seen:
            kept.append(entry)
            seen.add(name or "")
    return kept


def _project(entry: Any) -> str | None:
    try:
        return canonicalize_name(Requirement(entry).name)
    except (InvalidRequirement, TypeError):
        return None
