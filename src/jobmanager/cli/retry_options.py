"""The retry policy's options, shared by `jobs submit`, `configs create` and `configs update`
(the `retry` object of docs/queues.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobmanager.cli.output import error

FAILURE_KINDS = ("environmentLost", "failed", "timedOut")

RetriesOption = Annotated[
    int | None,
    typer.Option(
        "--retries",
        help="Retry policy: run a failed attempt again up to N times (0: never)",
        show_default=False,
    ),
]
RetryOnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--retry-on",
        help="Which failures are retried (repeatable): environmentLost, failed, timedOut "
        "[default: all three]",
        show_default=False,
    ),
]
BackoffOption = Annotated[
    float | None,
    typer.Option(
        "--retry-wait",
        help="Seconds before the first retry [default: 5]; each next one waits twice as "
        "long, at most --retry-wait-max",
        show_default=False,
    ),
]
BackoffMaxOption = Annotated[
    float | None,
    typer.Option(
        "--retry-wait-max",
        help="The longest wait between retries [default: 300]",
        show_default=False,
    ),
]


def retry_policy(
    retries: int | None,
    retry_on: list[str] | None,
    wait: float | None,
    wait_max: float | None,
) -> dict[str, Any] | None:
    """The API's `retry` object from the options; None when none was given. The server
    checks the numbers (a bad one is its 400, naming the field)."""
    if retries is None:
        if retry_on or wait is not None or wait_max is not None:
            error("--retry-on and --retry-wait need --retries N", "Say how many times")
        return None
    kinds = list(dict.fromkeys(retry_on or FAILURE_KINDS))
    unknown = [kind for kind in kinds if kind not in FAILURE_KINDS]
    if unknown:
        error(f"--retry-on {unknown[0]!r} is not one of {', '.join(FAILURE_KINDS)}")
    backoff: dict[str, float] = {}
    if wait is not None:
        backoff["initialSeconds"] = wait
    if wait_max is not None:
        backoff["maxSeconds"] = wait_max
    policy: dict[str, Any] = {"maxRetries": retries, "retryOn": kinds}
    if backoff:
        policy["backoff"] = backoff
    return policy
