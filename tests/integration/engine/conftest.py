"""Helpers for engine tests that start real kernels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobmanager.engine import Environment, EnvironmentSpec, RunResult
from jobmanager.engine.zeppelin import run_note
from jobmanager.engine.zeppelin_format import check_note_file

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "engine" / "fixtures"


def paragraph(text: str, **extra: Any) -> dict[str, Any]:
    """A paragraph as Zeppelin 0.11 writes a fresh one."""
    head = {"title": extra.pop("title")} if "title" in extra else {}
    return {
        **head,
        "text": text,
        "user": "anonymous",
        "dateUpdated": "2024-03-05 10:15:02.120",
        "progress": 0,
        "config": extra.pop("config", {"enabled": True}),
        "settings": {"params": {}, "forms": {}},
        "apps": [],
        "runtimeInfos": {},
        "progressUpdateIntervalMs": 500,
        "jobName": "paragraph_1",
        "id": "paragraph_1",
        "dateCreated": "2024-03-05 10:15:00.001",
        "status": "READY",
        **extra,
    }


def write_note(path: Path, *paragraphs: str | dict[str, Any], group: str = "python") -> Path:
    note = {
        "paragraphs": [p if isinstance(p, dict) else paragraph(p) for p in paragraphs],
        "name": path.stem,
        "id": "2JX7K4Q9M",
        "defaultInterpreterGroup": group,
        "version": "0.11.2",
        "noteParams": {},
        "noteForms": {},
        "angularObjects": {},
        "config": {"isZeppelinNotebookCronEnable": False},
        "info": {},
    }
    path.write_text(json.dumps(note, indent=2))
    return path


def execute(env: Environment, note: Path, **kwargs: Any) -> tuple[RunResult, dict[str, Any]]:
    """Run a note; check the executed file has Zeppelin's shape; return it parsed."""
    result = run_note(env, note, note.with_name(note.stem + ".out.zpln"), **kwargs)
    assert check_note_file(result.executed_path) == []
    return result, json.loads(result.executed_path.read_text())


def results(executed: dict[str, Any], index: int) -> list[tuple[str, str]]:
    msgs = executed["paragraphs"][index].get("results", {}).get("msg", [])
    return [(m["type"], m["data"]) for m in msgs]


@pytest.fixture(scope="module")
def shared_env() -> Iterator[Environment]:
    """One environment for the tests of a module whose kernel state does not matter."""
    env = Environment.start(EnvironmentSpec())
    yield env
    env.destroy()


@pytest.fixture
def fresh_env() -> Iterator[Environment]:
    env = Environment.start(EnvironmentSpec())
    yield env
    env.destroy()
