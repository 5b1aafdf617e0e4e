"""Job parameters (`parameters` of a job or a schedule): values for a note's forms or a
notebook's `parameters` cell. They are stored with the job, shown in every answer about
it and injected into the run, so their size is bounded: at most MAX_PARAMETERS_BYTES as
compact JSON (UTF-8)."""

from __future__ import annotations

import json
from typing import Any

MAX_PARAMETERS_BYTES = 64 * 1024


def check_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """`parameters` unchanged, or ValueError when they are larger than the limit."""
    size = len(json.dumps(parameters, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise ValueError(
            f"parameters are {size} bytes as JSON; at most {MAX_PARAMETERS_BYTES} bytes"
        )
    return parameters
