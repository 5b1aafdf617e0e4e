"""How long cron parsing and next-fire computations take.

Run: .venv/bin/python bench/cron_next.py
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from jobmanager.domain.cron import parse

START = datetime(2026, 11, 27, 13, 0, 7, tzinfo=UTC)
FALL_BACK_REPEAT = datetime(2026, 10, 25, 1, 0, 1, tzinfo=UTC)  # Berlin, 02:00:01 CET


def per_call(label: str, action: Callable[[], object], repeat: int) -> None:
    began = time.perf_counter()
    for _ in range(repeat):
        action()
    micros = (time.perf_counter() - began) / repeat * 1e6
    print(f"{label:<58} {micros:10.1f} µs")


def main() -> None:
    cases = [
        ("0 15 10 * * ?", None),
        ("1 1 * * *", None),
        ("*/5 * * * * ?", "Europe/Berlin"),
        ("0 0 12 ? * 6L", "Europe/Berlin"),
        ("0 0 9 LW * ?", "America/New_York"),
        ("0 0 0 29 2 ?", None),
    ]
    for expression, tz in cases:
        per_call(f"parse {expression!r} {tz or 'UTC'}", partial(parse, expression, tz), 200)
        per_call(
            f"next_after {expression!r}", partial(parse(expression, tz).next_after, START), 500
        )
    every_second = parse("* * * * * ?", "Europe/Berlin")
    per_call(
        "next_after every second, from inside the repeated hour",
        lambda: every_second.next_after(FALL_BACK_REPEAT),
        5,
    )
    per_call("parse an expression that never fires", lambda: _never(), 5)
    hourly = parse("0 0 * * * ?")
    per_call(
        "fire_times_between one year hourly (8760)",
        lambda: hourly.fire_times_between(START, START.replace(year=2027), 10_000),
        2,
    )


def _never() -> None:
    with contextlib.suppress(ValueError):
        parse("0 0 0 30 2 ?")


if __name__ == "__main__":
    main()
