"""Reading Server-Sent Events in tests, written from the format's definition (WHATWG
HTML, "Server-sent events"), apart from the client's own reader."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    id: int | None
    event: str
    data: dict[str, Any]


def messages(lines: Iterable[str]) -> Iterator[Message]:
    """The messages of a stream's lines (comments and `retry` skipped)."""
    fields: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in fields:
                ident = fields.get("id")
                yield Message(
                    int(ident) if ident else None,
                    fields.get("event", "message"),
                    json.loads(fields["data"]),
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")


def parse(text: str) -> list[Message]:
    return list(messages(text.split("\n")))
