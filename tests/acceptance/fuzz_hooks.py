"""Schemathesis hooks of the fuzz test (`test_fuzz.py`): what the OpenAPI document
cannot say, given to the requests that should be accepted.

A JSON schema says what a body looks like; it cannot say which ids exist (a job names a
model, its version, a configuration and folders; a folder or file names its parent; a
trigger its watched folder), which addresses a webhook may reach, the grammar of a cron
expression, which destinations the operator named (a configuration's `networkAllow`), or
that a project is named once among `packages` under any spelling. A
request that breaks one of those is refused with 400 naming the field, as the SPEC wants.
So in a request generated as valid (never in one generated to be refused), this hook puts
ids of resources the test made, a real cron expression, a public webhook URL, the named
destination and one entry per project; everything else stays as generated.

Two rules of the SPEC that a stateful run cannot know either:

- The model those requests name must stay runnable (its last version a note or
  notebook): a request adding a version to it (a PDF, say) would make every later
  valid job or schedule a 400. Such a request is not sent; versions are added to every
  other model as generated.
- Deleting a model's only version deletes the model (SPEC §2). Schemathesis counts a
  resource as removed only by a DELETE of its own path or one above it, so a `GET`
  of the model after `DELETE .../versions/last` looks like a created resource gone
  missing (ST302). After a version's deletion succeeds, the hook asks whether its
  model is still there; an ST302 about a model that went with its last version is
  that rule, and is dropped. Every other ST302 stands.

And one of schemathesis: an ST201 ("schema-violating request accepted") is dropped
when the body it sent is valid against the document after all (`_body_is_valid`).

One of Hypothesis: a Data Exchange name's pattern lists every Unicode letter and digit
(700 ranges), and building a generator from it takes seconds, which schemathesis does
for every value it draws. The document loaded here says the same rules over the Latin
letters (`entry_name_pattern(LATIN)`), a subset of the names: values generated as valid
stay valid; one generated to break that pattern but allowed by the real one (a Greek
letter) is an accepted request the document's own pattern allows, and the ST201 check
above weighs it against the document as the service serves it.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import httpx
import schemathesis
from jsonschema import Draft202012Validator
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import EnsureResourceAvailability

from jobmanager.domain.names import entry_name_pattern

# Field -> a value that exists (set by the test).
REAL: dict[str, str] = {
    **json.loads(os.environ.get("JOBMANAGER_FUZZ_IDS", "{}")),
    "parentId": "_PUBLIC_ROOT_ID",
    "scheduleString": "0 0 1 1 *",
    "folderId": "_PUBLIC_ROOT_ID",  # a trigger's watched folder
    # A webhook's receiver: the service refuses loopback, private and other non-public
    # addresses, which its pattern cannot tell from public ones.
    "url": "https://hooks.example.com/jobs",
}
# The one destination the test's service names (JOBMANAGER_NETWORK_DESTINATIONS): a
# configuration's `networkAllow` may name only those.
NAMED_DESTINATION = "mirror"
MODEL = "/api/modelmanagement/v3/models/{model_id}"
ADD_VERSION = ("POST", MODEL + "/versions")
DELETE_VERSION = {
    ("DELETE", MODEL + "/versions/{version_id}"),
    ("DELETE", MODEL + "/versions/last"),
}
# Models that were deleted with their last version.
GONE_WITH_LAST_VERSION: set[str] = set()
LATIN = 0x24F  # the last code point of Latin Extended-B
# The document as the service serves it (the generators get one with narrower names).
SERVED: dict[str, Any] = {}


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    """Keep the served document, and give the generators Latin names (see above)."""
    SERVED.update(copy.deepcopy(raw_schema))
    _narrow_names(raw_schema, entry_name_pattern(), entry_name_pattern(LATIN))


def _narrow_names(node: Any, full: str, narrow: str) -> None:
    if isinstance(node, dict):
        if node.get("pattern") == full:
            node["pattern"] = narrow
        for value in node.values():
            _narrow_names(value, full, narrow)
    elif isinstance(node, list):
        for value in node:
            _narrow_names(value, full, narrow)


def _operation(case: Any) -> tuple[str, str]:
    return case.operation.method.upper(), case.operation.path


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Keep the model of valid job requests runnable: add no version to it."""
    model = (case.path_parameters or {}).get("model_id")
    return not (_operation(case) == ADD_VERSION and model == REAL.get("modelId"))


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Note a model that a successful deletion of a version removed with it."""
    if _operation(case) not in DELETE_VERSION or not 200 <= response.status_code < 300:
        return
    model = case.path_parameters["model_id"]
    request = response.request
    url = str(request.url).split("/versions/")[0]
    answer = httpx.get(url, headers={"Authorization": request.headers.get("Authorization", "")})
    if answer.status_code == 404:
        GONE_WITH_LAST_VERSION.add(model)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Drop an ST302 about a model deleted with its only version, and an ST201 whose
    body matches the document after all (see above)."""
    model = (case.path_parameters or {}).get("model_id")
    if isinstance(failure, EnsureResourceAvailability) and model in GONE_WITH_LAST_VERSION:
        return False
    return not (isinstance(failure, AcceptedNegativeData) and _body_is_valid(case))


def _body_is_valid(case: Any) -> bool:
    """Whether a case "generated to be refused" only in its body sent a body the document
    accepts. Schemathesis negates one branch of an `anyOf` (`string | null` -> a string
    for the `null` branch; `string | integer | number` -> a number for the `integer`
    one) and counts the result as invalid although another branch takes it."""
    phase = case.meta.phase.data
    if getattr(phase, "parameter_location", None) != ParameterLocation.BODY:
        return False
    document = SERVED or case.operation.schema.raw_schema
    operation = document["paths"][case.operation.path][case.operation.method.lower()]
    schema = operation["requestBody"]["content"][case.media_type]["schema"]
    body = case.body
    if isinstance(body, dict) and case.media_type == "multipart/form-data":
        body = {key: "" if isinstance(value, bytes) else value for key, value in body.items()}
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return bool(validator.is_valid(body))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative or not isinstance(case.body, dict):
        return case
    for document in (case.body, case.body.get("metadata"), case.body.get("trigger")):
        if isinstance(document, dict):
            _make_real(document)
    return case


def _make_real(document: dict[str, Any]) -> None:
    for field, value in REAL.items():
        if isinstance(document.get(field), str):
            document[field] = value
    if isinstance(document.get("networkAllow"), list):  # names the operator gave
        document["networkAllow"] = [NAMED_DESTINATION] if document["networkAllow"] else []
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
