"""Reading Server-Sent Events in tests, written from the format's definition (WHATWG
HTML, "Server-sent events"), apart from the client's own reader."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    id: int | None
    event: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Frame:
    """A message as the format defines it: its `data` lines joined with `\n`."""

    id: str | None
    event: str
    data: str


def frames(lines: Iterable[str]) -> Iterator[Frame]:
    """The messages of a stream's lines, their data as text (comments and `retry`
    skipped; a message without data is not one)."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield Frame(fields.get("id"), fields.get("event", "message"), "\n".join(data))
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value.removeprefix(" "))
        else:
            fields[name] = value.removeprefix(" ")


def messages(lines: Iterable[str]) -> Iterator[Message]:
    """The messages of a stream of JSON data (the API's)."""
    for frame in frames(lines):
        yield Message(int(frame.id) if frame.id else None, frame.event, json.loads(frame.data))


def lines(text: str) -> list[str]:
    """A stream's lines, ended by any of the format's line breaks, as a browser reads it:
    `\r\n`, `\n`, or a lone `\r`."""
    return re.split(r"\r\n|\r|\n", text)


def parse(text: str) -> list[Message]:
    return list(messages(lines(text)))
