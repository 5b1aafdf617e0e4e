"""Job parameters (`parameters` of a job or a schedule): values for a note's forms or a
notebook's `parameters` cell. They are stored with the job, shown in every answer about
it and injected into the run, so their size is bounded: at most MAX_PARAMETERS_BYTES as
compact JSON (UTF-8).

JSON has no NaN or infinities, but a parameter may be one (papermill's `-p x nan` gives
`x = float('nan')`). A request may carry them as the tokens Python's `json` writes (`NaN`,
`Infinity`, `-Infinity`) or as MongoDB Extended JSON writes them (`{"$numberDouble":
"NaN"}`); they are stored and answered in the second form, which every JSON parser
reads, and become floats again only for the run (`parameters_for_run`).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_PARAMETERS_BYTES = 64 * 1024
NON_FINITE_KEY = "$numberDouble"
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def check_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """`parameters` as stored (non-finite numbers wrapped), or ValueError when they are
    larger than the limit."""
    stored: dict[str, Any] = parameters_for_json(parameters)
    size = len(json.dumps(stored, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise ValueError(
            f"parameters are {size} bytes as JSON; at most {MAX_PARAMETERS_BYTES} bytes"
        )
    return stored


def parameters_for_json(value: Any) -> Any:
    """`value` with every NaN and infinity as `{"$numberDouble": "NaN"}` (or "Infinity",
    "-Infinity"), at any depth."""
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {NON_FINITE_KEY: name}
    if isinstance(value, dict):
        return {key: parameters_for_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [parameters_for_json(item) for item in value]
    return value


def parameters_for_run(value: Any) -> Any:
    """The values a run gets: `{"$numberDouble": "NaN"}` (and the infinities) as floats,
    at any depth."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(NON_FINITE_KEY), str):
            number = _NON_FINITE.get(value[NON_FINITE_KEY])
            if number is not None:
                return number
        return {key: parameters_for_run(item) for key, item in value.items()}
    if isinstance(value, list):
        return [parameters_for_run(item) for item in value]
    return value
