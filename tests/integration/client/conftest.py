"""One real `jobmanager serve` per test module, and a client logged in as its dev tenant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobmanager.client import Client
from tests.acceptance.cli_runner import module_server
from tests.acceptance.server import ServerProcess

server = module_server()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[Client]:
    credentials = server.dev_credentials()
    with Client(server.url, credentials["clientId"], credentials["clientSecret"]) as client:
        yield client


def notebook(*sources: str) -> str:
    """A Jupyter notebook (nbformat 4) with one code cell per source."""
    cells: list[dict[str, Any]] = [
        {
            "cell_type": "code",
            "metadata": {},
            "source": source,
            "outputs": [],
            "execution_count": None,
        }
        for source in sources
    ]
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document)


def zeppelin_note(*texts: str) -> str:
    """A Zeppelin note (0.9+ `.zpln`) with one paragraph per text."""
    paragraphs = [
        {"id": f"paragraph_{index}", "title": f"step {index + 1}", "text": text, "config": {}}
        for index, text in enumerate(texts)
    ]
    document = {
        "paragraphs": paragraphs,
        "name": "test note",
        "id": "2JTESTNOTE",
        "config": {"defaultInterpreterGroup": "python"},
        "info": {},
    }
    return json.dumps(document)


DOUBLE_NOTE = zeppelin_note(
    "%python\nimport pathlib\nvalue = pathlib.Path('numbers.txt').read_text().strip()",
    "%python\nfactor = int(z.textbox('factor', '2'))\n"
    "pathlib.Path(outputFolder, 'result.txt').write_text(str(int(value) * factor))",
)


@pytest.fixture
def notebook_file(tmp_path: Path) -> Path:
    path = tmp_path / "double.zpln"
    path.write_text(DOUBLE_NOTE)
    return path
