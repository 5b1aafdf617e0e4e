"""Provenance rules (docs/provenance.md): how a re-run's input compares with its origin's,
how a job names the paragraphs a repair replayed, which step a repair starts from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def input_changes(before: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The input files whose checksum differs from `before` (path to SHA-256), in words:
    `a.csv (changed)`, `b.csv (new)`, `c.csv (gone)`, sorted by path."""
    changes = []
    for path in sorted(set(before) | set(now)):
        if path not in now:
            changes.append(f"{path} (gone)")
        elif path not in before:
            changes.append(f"{path} (new)")
        elif before[path] != now[path]:
            changes.append(f"{path} (changed)")
    return changes


def input_warning(origin_id: str, changes: Sequence[str], shown: int = 10) -> str:
    """The warning a re-run's message carries when its input is not its origin's."""
    if not changes:
        return ""
    listed = ", ".join(changes[:shown]) + (
        f" and {len(changes) - shown} more" if len(changes) > shown else ""
    )
    return f"Warning: the input differs from job {origin_id}'s: {listed}."


def replayed_note(origin_id: str, replayed: Sequence[int], unit: str) -> str:
    """What a repair's message says of the steps it replayed."""
    if not replayed:
        return f"Repair of job {origin_id}: nothing to replay."
    plural = f"{unit}s" if len(replayed) > 1 else unit
    numbers = ", ".join(str(n) for n in replayed)
    return (
        f"Repair of job {origin_id}: {plural} {numbers} replayed to restore the kernel's "
        "state (their earlier results kept)."
    )


def step_to_repair(failed: int | None, last_ended: int, replayed_before: int) -> int:
    """The step a repair of a run starts from: its first failed (or aborted) one, else
    the first it did not finish."""
    if failed is not None:
        return failed
    return max(last_ended + 1, replayed_before, 1)
