"""Data-arrival triggers: a schedule that fires on new or changed files in a folder.

A trigger watches the files directly in one Data Exchange folder whose name matches a
glob `pattern` (`*.csv`; `*` for all). Every upload, replacement, rename or move of a
matching file into the folder is an arrival; the schedule fires once no new arrival
has come for `debounce_seconds` (0: at once), and its firing lists the files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

MAX_PATTERN_CHARS = 255
MAX_DEBOUNCE_SECONDS = 86400


@dataclass(frozen=True)
class Trigger:
    """What a data-arrival schedule watches."""

    folder_id: str
    pattern: str = "*"
    debounce_seconds: int = 0

    def matches(self, file_name: str) -> bool:
        """Whether a file of this name, arriving in the folder, counts (case-sensitive)."""
        return fnmatchcase(file_name, self.pattern)

    def is_settled(self, newest_arrival: datetime, now: datetime) -> bool:
        """Whether the last arrival is `debounce_seconds` old: time to fire."""
        return now - newest_arrival >= timedelta(seconds=self.debounce_seconds)
