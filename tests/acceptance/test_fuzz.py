"""Schemathesis sends generated requests, valid and invalid, to every operation of a real
server's OpenAPI document: whatever they hold, no answer is a server error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.server import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "home").start()
    yield process
    process.stop()


def test_generated_requests_never_get_a_server_error(server: ServerProcess, tmp_path: Path) -> None:
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert schemathesis, "schemathesis is a dev dependency"
    result = subprocess.run(
        [
            schemathesis,
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {server.token()}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            "--seed",
            "7",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # schemathesis keeps its state in the working directory
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "status=500" not in server.log() and "Traceback" not in server.log()
