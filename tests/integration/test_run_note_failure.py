"""`jobmanager run-note` after a failed notebook or note: the failure in one line, exit 1,
and nothing else — no "Exception ignored" traceback as the command ends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.client.conftest import zeppelin_note

FAILING_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "id": "one", "metadata": {}, "outputs": [],
         "execution_count": None, "source": "import pandas\nprint('first')"},
        {"cell_type": "code", "id": "two", "metadata": {}, "outputs": [],
         "execution_count": None, "source": "raise ValueError('boom')"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip
FAILING_NOTE = zeppelin_note("%python\nprint('first')", "%python\nraise ValueError('boom')")


@pytest.mark.parametrize(
    ("name", "text", "failure", "executed"),
    [
        (
            "failing.ipynb",
            json.dumps(FAILING_NOTEBOOK),
            "Cell 2 of 2 failed: ValueError: boom",
            "failing.ipynb",
        ),
        (  # an executed note is named as Zeppelin exports it: `{name}_{noteId}.zpln`
            "failing.zpln",
            FAILING_NOTE,
            'Paragraph 2 of 2 "step 2" failed: ValueError: boom',
            "failing_2JTESTNOTE.zpln",
        ),
    ],
)
def test_a_failed_run_ends_with_its_failure_and_nothing_after(
    tmp_path: Path, name: str, text: str, failure: str, executed: str
) -> None:
    (tmp_path / name).write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "jobmanager", "run-note", name, "--output", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert f"failed: {failure}" in output
    assert "Exception ignored" not in output and "Traceback" not in output
    assert output.rstrip().splitlines()[-1] == f"Executed note: out/{executed}"
    assert (tmp_path / "out" / executed).is_file()
